#!/usr/bin/env node
// Runs the worksheet-images CLI: the compiled build (dist/, after `npm run build`) when there is one, otherwise the
// TypeScript source through tsx (a devDependency). WORKSHEET_IMAGES_FROM_SOURCE=1 runs the source even when a build
// exists, so tests never run a stale build.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const fromSource = process.env.WORKSHEET_IMAGES_FROM_SOURCE === '1' || !existsSync(compiled);

const load = fromSource
  ? import('tsx/esm/api').then(({ register }) => {
      register();
      return import('../src/cli/main.ts');
    })
  : import(compiled.href);

load.then(
  (cli) => cli.run(),
  (error) => {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(
      `worksheet-images: cannot start: ${reason}` +
        (fromSource ? ' (run `npm run build`, or `npm install` for tsx)\n' : ' (run `npm run build` again)\n'),
    );
    process.exit(1);
  },
);
