/**
 * Compiles a TypeScript module of bench/ to plain JavaScript with esbuild, so that the processes the benchmarks
 * measure run without a TypeScript loader, as the project's server does after `npm run build`. The output lives under
 * node_modules/.cache so that its bare imports (graphql-yoga, undici) resolve to the project's own copies.
 */
import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const OUTPUT_DIRECTORY = fileURLToPath(new URL('../../node_modules/.cache/worksheet-images-bench/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Answers the path of the compiled module (a .mjs file). */
export async function compileForNode(source: string): Promise<string> {
  const output = `${OUTPUT_DIRECTORY}${basename(source).replace(/\.ts$/, '.mjs')}`;
  await build({
    entryPoints: [source],
    outfile: output,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  return output;
}

/** `npm run build`: the server the benchmarks measure is dist/main.js, as `npm start` runs it. */
export function buildProject(): void {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}
