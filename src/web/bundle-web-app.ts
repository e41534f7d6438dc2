import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Plugin } from 'esbuild';

export interface WebAppBundle {
  /** The page's script: src/web/main.ts with the typed client, as one ES module. */
  js: string;
  /** src/web/styles.css. */
  css: string;
}

/** Browsers the page is built for: those with ES2021, CSS aspect-ratio and :focus-visible. */
const BROWSER_TARGETS = ['chrome100', 'edge100', 'firefox100', 'safari15.4'];

/** How code is bundled for browsers: the page here, and the typed client when its size is measured. */
export const BROWSER_BUNDLE_OPTIONS = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: BROWSER_TARGETS,
  minify: true,
  // graphql checks NODE_ENV for its development-only instanceof warnings.
  define: { 'process.env.NODE_ENV': '"production"' },
} as const satisfies BuildOptions;

/**
 * zod's `z` namespace drags in its messages in some fifty languages (about 250 kB); the page shows English ones,
 * which zod imports on their own, so the `z.locales` collection is left out.
 */
const withoutZodLocales: Plugin = {
  name: 'without-zod-locales',
  setup(builder) {
    builder.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, ({ importer }) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(importer) ? { path: 'zod-locales', namespace: 'empty' } : undefined,
    );
    builder.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

/** src/web, whether this module runs from src/web (tsx, vitest) or compiled from dist/web. */
export function findWebSourceDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [here, join(here, '..', '..', 'src', 'web')];
  const found = candidates.find((directory) => existsSync(join(directory, 'main.ts')));
  if (!found) throw new Error(`Cannot find the page's source (src/web/main.ts); looked in ${candidates.join(', ')}`);
  return found;
}

/**
 * Bundles the progress page with esbuild, in memory: everything it loads comes from this server, nothing from a CDN.
 * esbuild is a devDependency, so production servers run `npm run build:web` ahead of time instead.
 */
export async function bundleWebApp(sourceDir: string = findWebSourceDir()): Promise<WebAppBundle> {
  const result = await build({
    entryPoints: [
      { in: join(sourceDir, 'main.ts'), out: 'app' },
      { in: join(sourceDir, 'styles.css'), out: 'app' },
    ],
    outdir: 'out',
    write: false,
    ...BROWSER_BUNDLE_OPTIONS,
    legalComments: 'eof',
    plugins: [withoutZodLocales],
    logLevel: 'silent',
  });
  const output = (extension: string) => {
    const file = result.outputFiles.find((candidate) => candidate.path.endsWith(`app${extension}`));
    if (!file) throw new Error(`esbuild produced no app${extension}`);
    return file.text;
  };
  return { js: output('.js'), css: output('.css') };
}
