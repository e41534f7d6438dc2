import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_GZIP_BUDGET_BYTES } from '../scripts/client-size.js';
import { pathOf, type Route } from '../src/server/routes.js';
import { BROWSER_BUNDLE_OPTIONS } from '../src/web/bundle-web-app.js';
import { collectPageProblems, launchChromium } from './support/browser.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

/**
 * A front end's point of view: the project is packed as `npm pack` packs it (its `prepare` builds dist/), the
 * tarball is installed into a scratch app, and a tiny page that imports `worksheet-images/client` is bundled, served
 * from the server's origin and run in Chromium.
 */

/** npm as a user runs it: without the npm_* settings of an `npm test` that may have started this. */
function npm(args: string[], cwd: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  return run('npm', args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
}

/**
 * A copy of what a git clone of the project holds (tracked files, plus new ones not ignored), with the installed
 * node_modules linked in as a git dependency's preparation would install them. Packing the copy leaves the working
 * tree's own dist/ alone.
 */
async function stageProject(into: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT });
  for (const file of stdout.split('\0')) {
    if (!file || !existsSync(join(ROOT, file))) continue;
    mkdirSync(dirname(join(into, file)), { recursive: true });
    cpSync(join(ROOT, file), join(into, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(into, 'node_modules'));
}

/**
 * The scratch app: depends on the tarball only. The tests have no network, so npm installs from its local cache
 * (`npm ci --offline`); the app's lockfile pins the tarball's dependencies to the versions the project's own lockfile
 * resolved (and so has its overrides), which `npm ci` of the project put in that cache.
 */
function writeScratchApp(app: string, tarball: string): void {
  const project = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const spec = `file:${tarball}`;
  const manifest = {
    name: 'scratch-editor',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: { 'worksheet-images': spec },
    overrides: project.overrides,
  };
  const packages: Record<string, unknown> = {
    '': { name: manifest.name, version: manifest.version, dependencies: manifest.dependencies },
    'node_modules/worksheet-images': {
      version: project.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: project.license,
      dependencies: project.dependencies,
      bin: project.bin,
      engines: project.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) {
    if (path.startsWith('node_modules/') && !entry.dev) packages[path] = entry;
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(
    join(app, 'package-lock.json'),
    JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages }),
  );
}

/** The editor's page: the seed's two lines, `new WorksheetImageGenerationService()` with no argument included. */
const PAGE_SOURCE = `
import { WorksheetImageGenerationService, type GenerationProgress, type Worksheet } from 'worksheet-images/client';

const worksheet: Worksheet = {
  title: 'Animals',
  pages: [
    {
      elements: [
        { type: 'text', text: 'Name the animals' },
        { type: 'image', prompt: 'a friendly cat', width: 256, height: 192 },
        { type: 'image', prompt: 'a dog with a ball', width: 200, height: 200 },
      ],
    },
    { elements: [{ type: 'image', prompt: 'a red bird on a branch', width: 320, height: 240, seed: 7 }] },
  ],
};

const status = document.getElementById('status')!;
const updates: GenerationProgress[] = [];
(window as unknown as { progressUpdates: GenerationProgress[] }).progressUpdates = updates;

try {
  const service = new WorksheetImageGenerationService();
  const { worksheet: illustrated, stats } = await service.generateImagesForWorksheet(worksheet, (progress) => {
    updates.push(progress);
    status.textContent = progress.completed + ' / ' + progress.total;
  });
  illustrated.pages.forEach((page, pageIndex) =>
    page.elements.forEach((element, elementIndex) => {
      if (typeof element.src !== 'string') return;
      const image = document.createElement('img');
      image.dataset.id = pageIndex + '-' + elementIndex;
      image.alt = String(element.prompt);
      image.src = element.src;
      document.body.append(image);
    }),
  );
  const single = await service.generateSingleImage('a lighthouse', 128, 128);
  document.body.dataset.single = single.slice(0, 22);
  document.body.dataset.generated = String(stats.successful);
  document.body.dataset.state = 'done';
} catch (error) {
  status.textContent = String(error);
  document.body.dataset.state = 'failed';
}
`;

const PAGE_HTML = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Scratch editor</title>
<p id="status">Starting…</p>
<script type="module" src="/editor/page.js"></script>
</html>`;

function editorRoute(script: string): Route {
  return (request, response) => {
    const path = pathOf(request);
    if (path !== '/editor/' && path !== '/editor/page.js') return false;
    const isScript = path.endsWith('.js');
    response.writeHead(200, {
      'content-type': isScript ? 'text/javascript; charset=utf-8' : 'text/html; charset=utf-8',
    });
    response.end(isScript ? script : PAGE_HTML);
    return true;
  };
}

describe('worksheet-images/client installed from the packed tarball into a scratch front end', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'worksheet-images-package-'));
  const app = join(scratch, 'app');
  let packedFiles: string[] = [];
  let script = '';
  let bundleInputs: string[] = [];
  let server: TestServer | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    const project = join(scratch, 'project');
    await stageProject(project);
    // `npm pack` runs `prepare` (npm run build) first, as a git dependency's install does.
    const { stdout } = await npm(['pack', '--json', '--pack-destination', scratch], project);
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    if (!packed) throw new Error(`npm pack printed no tarball: ${stdout}`);
    packedFiles = packed.files.map((file) => file.path);

    mkdirSync(app);
    writeScratchApp(app, join(scratch, packed.filename));
    // Without the server's optional native binaries (the canvas renderer): a page needs none of them.
    await npm(['ci', '--offline', '--ignore-scripts', '--omit=optional', '--no-audit', '--no-fund'], app);
    writeFileSync(join(app, 'page.ts'), PAGE_SOURCE);

    // The app's bundler, as a front end's would bundle it; everything must resolve inside the scratch app.
    const bundled = await build({
      entryPoints: [join(app, 'page.ts')],
      absWorkingDir: app,
      write: false,
      metafile: true,
      ...BROWSER_BUNDLE_OPTIONS,
      // Top-level await in the page itself; the client needs no more than the shared targets.
      target: 'es2022',
      logLevel: 'silent',
    });
    script = bundled.outputFiles[0]?.text ?? '';
    bundleInputs = Object.keys(bundled.metafile.inputs);
    [server, browser] = await Promise.all([startTestServer({}, { routes: [editorRoute(script)] }), launchChromium()]);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('ships dist with the client and its types, without source maps or sources', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining(['package.json', 'dist/client/index.js', 'dist/client/index.d.ts', 'dist/main.js']),
    );
    expect(
      packedFiles.filter((file) => file.endsWith('.map') || file.startsWith('src/') || file.startsWith('test/')),
    ).toEqual([]);
    const installed = JSON.parse(readFileSync(join(app, 'node_modules/worksheet-images/package.json'), 'utf8'));
    expect(installed.exports['./client']).toEqual({
      types: './dist/client/index.d.ts',
      default: './dist/client/index.js',
    });
  });

  it('typechecks the page against the installed .d.ts files', async () => {
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const options = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'esnext'];
    const resolution = ['--moduleResolution', 'bundler', '--lib', 'es2022,dom'];
    const result = await run(process.execPath, [tsc, ...options, ...resolution, 'page.ts'], { cwd: app }).catch(
      (error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }),
    );

    expect(result.stdout).toBe('');
  });

  it('bundles for the browser from the installed package only: no zod, no graphql, no ws, within budget', () => {
    const outside = bundleInputs.filter((input) => !input.startsWith('page.ts') && !input.startsWith('node_modules/'));
    const packages = new Set(bundleInputs.map((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1]));

    expect(outside).toEqual([]);
    expect(bundleInputs).toContain('node_modules/worksheet-images/dist/client/index.js');
    expect([...packages].filter(Boolean).sort()).toEqual(['graphql-ws', 'worksheet-images']);
    expect(gzipSync(script).byteLength).toBeLessThanOrEqual(CLIENT_GZIP_BUDGET_BYTES);
  });

  it("fills the worksheet's placeholders in Chromium, talking to the page's own origin", async () => {
    if (!server || !browser) throw new Error('beforeAll did not finish');
    const origin = new URL(server.url).origin;
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = collectPageProblems(page);
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));

    await page.goto(`${origin}/editor/`);
    await page.waitForFunction(() => document.body.dataset.state !== undefined, undefined, { timeout: 30_000 });
    const status = await page.locator('#status').textContent();
    expect(await page.evaluate(() => document.body.dataset.state), status ?? '').toBe('done');
    await page.waitForFunction(() => [...document.images].every((image) => image.complete && image.naturalWidth > 0));

    const images = await page.$$eval('img', (elements) =>
      elements.map((image) => ({ id: image.dataset.id, width: image.naturalWidth, src: image.src.slice(0, 22) })),
    );
    expect(images).toEqual([
      { id: '0-1', width: 256, src: 'data:image/png;base64,' },
      { id: '0-2', width: 208, src: 'data:image/png;base64,' },
      { id: '1-0', width: 320, src: 'data:image/png;base64,' },
    ]);
    expect(status).toBe('3 / 3');
    const updates = await page.evaluate(() => (window as unknown as { progressUpdates: unknown[] }).progressUpdates);
    expect(updates.at(-1)).toEqual({ completed: 3, total: 3, errors: 0, current: null });
    expect(await page.evaluate(() => document.body.dataset.single)).toBe('data:image/png;base64,');
    expect(sockets).toEqual([`${origin.replace(/^http/, 'ws')}/graphql`]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
