import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { pathOf, type Route } from '../server/routes.js';
import { renderIndexHtml } from './index-html.js';

export interface ProgressPageOptions {
  /**
   * Where `npm run build:web` wrote app.js and app.css. By default, this module's own directory: dist/web once
   * compiled. When they are not there (tests, or `tsx src/main.ts` without a build), the page is bundled in memory
   * with esbuild, once, at the first request; esbuild is a devDependency, so a production install needs the build.
   */
  assetsDir?: string;
  /** The GraphQL endpoint the page talks to, relative to the page, e.g. "/graphql". */
  graphqlPath: string;
}

/** Only this server's own script, styles and images (and the data: URLs the images arrive as); no framing. */
export const PROGRESS_PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': PROGRESS_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
} as const;

/** Versioned URLs (`?v=<hash>`) never change; anything else is revalidated with its ETag. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

interface Asset {
  contentType: string;
  identity: Buffer;
  gzip: Buffer;
  brotli: Buffer;
  /** The first 16 hex digits of the SHA-256 of the bytes: the ETag and the `v` of versioned URLs. */
  version: string;
}

interface PageAssets {
  index: Asset;
  script: Asset;
  style: Asset;
}

/**
 * The progress page at `/`: index.html, /app.js and /app.css, with their content types, ETags, cache headers
 * (the page is revalidated, the assets it links are versioned and immutable), gzip or brotli, and a strict
 * Content-Security-Policy. Other paths are left to the next route.
 */
export function createProgressPageRoute(options: ProgressPageOptions): Route {
  if (!options.graphqlPath.startsWith('/')) {
    throw new TypeError(`Expected \`graphqlPath\` to be a path starting with "/", got \`${options.graphqlPath}\``);
  }
  const assetsDir = options.assetsDir ?? dirname(fileURLToPath(import.meta.url));
  let loading: Promise<PageAssets> | undefined;
  const assets = () =>
    (loading ??= loadAssets(assetsDir, options.graphqlPath).catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));

  const serve = async (request: IncomingMessage, response: ServerResponse, path: string, pick: AssetPick) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      response.end('Method not allowed: the progress page answers GET and HEAD.\n');
      return true;
    }
    const asset = pick(await assets());
    const versioned = path !== '/' && path !== '/index.html' && queryVersion(request) === asset.version;
    send(request, response, asset, versioned ? IMMUTABLE : REVALIDATE);
    return true;
  };
  // "Not mine" is answered without a promise: every request asks this route first.
  return (request, response) => {
    const path = pathOf(request);
    const pick = PATHS[path];
    return pick ? serve(request, response, path, pick) : false;
  };
}

type AssetPick = (assets: PageAssets) => Asset;

const PATHS: Record<string, AssetPick | undefined> = {
  '/': (assets) => assets.index,
  '/index.html': (assets) => assets.index,
  '/app.js': (assets) => assets.script,
  '/app.css': (assets) => assets.style,
};

async function loadAssets(assetsDir: string, graphqlPath: string): Promise<PageAssets> {
  const { js, css } = (await readBuiltAssets(assetsDir)) ?? (await bundleInMemory());
  const script = asset('text/javascript; charset=utf-8', js);
  const style = asset('text/css; charset=utf-8', css);
  const html = renderIndexHtml({
    graphqlPath,
    scriptUrl: `/app.js?v=${script.version}`,
    styleUrl: `/app.css?v=${style.version}`,
  });
  return { index: asset('text/html; charset=utf-8', html), script, style };
}

async function readBuiltAssets(assetsDir: string): Promise<{ js: string; css: string } | null> {
  try {
    const [js, css] = await Promise.all([
      readFile(join(assetsDir, 'app.js'), 'utf8'),
      readFile(join(assetsDir, 'app.css'), 'utf8'),
    ]);
    return { js, css };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function bundleInMemory(): Promise<{ js: string; css: string }> {
  try {
    // Loaded only here: esbuild is needed to build the page, never to serve a built one.
    const { bundleWebApp } = await import('./bundle-web-app.js');
    return await bundleWebApp();
  } catch (error) {
    throw new Error('The progress page is not built and could not be built in memory: run `npm run build:web`', {
      cause: error,
    });
  }
}

function asset(contentType: string, text: string): Asset {
  const identity = Buffer.from(text, 'utf8');
  return {
    contentType,
    identity,
    gzip: gzipSync(identity, { level: 9 }),
    // Quality 9: within 7 % of the smallest output, at a sixth of the time quality 11 takes (about 0.1 s for app.js).
    brotli: brotliCompressSync(identity, {
      params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: identity.length },
    }),
    version: assetVersion(identity),
  };
}

/** What `?v=` carries for an asset: the first 16 hex digits of the SHA-256 of its bytes. */
export function assetVersion(bytes: string | Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

function send(request: IncomingMessage, response: ServerResponse, asset: Asset, cacheControl: string): void {
  // One ETag for every encoding of the same bytes, so it is weak.
  const etag = `W/"${asset.version}"`;
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    'content-type': asset.contentType,
    'cache-control': cacheControl,
    etag,
    vary: 'Accept-Encoding',
  };
  if (matchesEtag(request.headers['if-none-match'], etag)) {
    response.writeHead(304, headers);
    response.end();
    return;
  }
  const encoding = chooseEncoding(request.headers['accept-encoding']);
  const body = encoding === 'br' ? asset.brotli : encoding === 'gzip' ? asset.gzip : asset.identity;
  if (encoding) headers['content-encoding'] = encoding;
  headers['content-length'] = body.length;
  response.writeHead(200, headers);
  response.end(request.method === 'HEAD' ? undefined : body);
}

function queryVersion(request: IncomingMessage): string | null {
  return new URL(request.url ?? '/', 'http://page.invalid').searchParams.get('v');
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((candidate) => {
    const value = candidate.trim();
    return value === '*' || value.replace(/^W\//, '') === opaque;
  });
}

/** brotli, else gzip, when the client accepts it (a q of 0 refuses). */
function chooseEncoding(header: string | undefined): 'br' | 'gzip' | null {
  const accepted = new Set(
    (header ?? '')
      .split(',')
      .map((part) => part.trim().split(';'))
      .filter(([, ...parameters]) => !parameters.some((parameter) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(parameter)))
      .map(([name]) => name?.trim().toLowerCase()),
  );
  if (accepted.has('br')) return 'br';
  if (accepted.has('gzip')) return 'gzip';
  return null;
}
