import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWebApp } from '../src/web/bundle-web-app.js';
import { renderIndexHtml } from '../src/web/index-html.js';
import { assetVersion } from '../src/web/progress-page-route.js';

/**
 * Bundles the progress page (src/web/main.ts with the typed client, and src/web/styles.css) into dist/web:
 * app.js, app.css and index.html. The server serves app.js and app.css from there and renders index.html itself,
 * with its configured GraphQL path; the index.html written here is the same page for the default "/graphql".
 */
export async function buildWeb(outDir = join(import.meta.dirname, '..', 'dist', 'web')): Promise<string[]> {
  const { js, css } = await bundleWebApp(join(import.meta.dirname, '..', 'src', 'web'));
  const html = renderIndexHtml({
    graphqlPath: '/graphql',
    scriptUrl: `/app.js?v=${assetVersion(js)}`,
    styleUrl: `/app.css?v=${assetVersion(css)}`,
  });
  mkdirSync(outDir, { recursive: true });
  const files = { 'app.js': js, 'app.css': css, 'index.html': html };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(outDir, name), text);
  return Object.entries(files).map(
    ([name, text]) => `${join(outDir, name)} (${(Buffer.byteLength(text) / 1024).toFixed(1)} KiB)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Quiet by default: `npm start` builds first, and the server's first line must be its URL.
  const written = await buildWeb();
  if (process.argv.includes('--verbose')) for (const line of written) process.stdout.write(`wrote ${line}\n`);
}
