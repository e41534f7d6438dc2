import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BROWSER_BUNDLE_OPTIONS } from '../src/web/bundle-web-app.js';

/** What a front end may pay for the typed client: `worksheet-images/client`, minified and gzipped. */
export const CLIENT_GZIP_BUDGET_BYTES = 20 * 1024;

export const CLIENT_ENTRY = join(import.meta.dirname, '..', 'src', 'client', 'index.ts');

export interface BundleSize {
  minifiedBytes: number;
  gzipBytes: number;
  /** Bytes of the minified output per package (or source folder), largest first. */
  byOrigin: Array<[origin: string, bytes: number]>;
}

/**
 * Bundles the client entry the way a front end's bundler would (esbuild, as the progress page is: one ES module for
 * browsers, minified, `process.env.NODE_ENV` set to production) and measures it. Every export of the entry is kept, so this is the most
 * an app importing from `worksheet-images/client` can pay.
 */
export async function measureClientBundle(entry: string = CLIENT_ENTRY): Promise<BundleSize> {
  const result = await build({
    entryPoints: [entry],
    write: false,
    ...BROWSER_BUNDLE_OPTIONS,
    metafile: true,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error(`esbuild produced nothing for ${entry}`);
  const byOrigin = new Map<string, number>();
  for (const { inputs } of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(inputs)) {
      const origin = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input.split('/').slice(0, -1).join('/');
      byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + bytesInOutput);
    }
  }
  return {
    minifiedBytes: output.contents.byteLength,
    gzipBytes: gzipSync(output.contents).byteLength,
    byOrigin: [...byOrigin].sort((a, b) => b[1] - a[1]),
  };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const size = await measureClientBundle();
  const over = size.gzipBytes > CLIENT_GZIP_BUDGET_BYTES;
  process.stdout.write(
    `worksheet-images/client for browsers: ${kib(size.minifiedBytes)} minified, ${kib(size.gzipBytes)} gzipped ` +
      `(budget ${kib(CLIENT_GZIP_BUDGET_BYTES)} gzipped${over ? ', OVER BUDGET' : ''})\n` +
      size.byOrigin.map(([origin, bytes]) => `  ${kib(bytes).padStart(10)}  ${origin}\n`).join(''),
  );
  if (over) process.exitCode = 1;
}
