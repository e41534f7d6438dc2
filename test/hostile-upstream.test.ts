import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GENERATE_MUTATION, postGraphQL } from './support/graphql-clients.js';
import {
  HOSTILE_API_KEY,
  type HostileAnswer,
  type HostileUpstream,
  startHostileUpstream,
} from './support/hostile-upstream.js';
import { startTestServer, type TestServer } from './support/test-server.js';
import { tinyPng } from './support/test-images.js';

const MAX_IMAGE_BYTES = 1024 * 1024;
/** What the server may let through before it stops reading: its bound plus what sockets buffer on the way. */
const READ_ALLOWANCE = 16 * 1024 * 1024;

let upstream: HostileUpstream;
let server: TestServer;
/** A second loopback server that is not on the allow-list: nothing may ever reach it. */
let offList: Server;
let offListHits = 0;

beforeAll(async () => {
  upstream = await startHostileUpstream();
  offList = createServer((_request, response) => {
    offListHits += 1;
    response.end('no');
  });
  await new Promise<void>((resolve) => offList.listen(0, '127.0.0.1', resolve));
  server = await startTestServer({
    TOGETHER_API_KEY: HOSTILE_API_KEY,
    TOGETHER_BASE_URL: upstream.url,
    TOGETHER_IMAGE_HOSTS: upstream.origin,
    UPSTREAM_MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES),
    GENERATION_MAX_ATTEMPTS: '1',
    UPSTREAM_TIMEOUT_MS: '20000',
    QUOTA_IMAGES_PER_MINUTE: '0',
  });
});

afterAll(async () => {
  await server?.close();
  await upstream?.close();
  await new Promise<void>((resolve) => offList.close(() => resolve()));
});

beforeEach(() => upstream.answer({ kind: 'ok' }));

interface ResultShape {
  status: string;
  mimeType: string | null;
  error: { code: string; message: string; retryable: boolean } | null;
}

/** One image through the real server over HTTP, with the upstream answering `answer`; and what that cost upstream. */
async function generateAgainst(answer: HostileAnswer) {
  upstream.answer(answer);
  const before = upstream.bytesWritten;
  const { status, body } = await postGraphQL<{ generateWorksheetImages: { results: ResultShape[] } }>(
    server.url,
    GENERATE_MUTATION,
    { input: { images: [{ id: '0-0', prompt: 'a hostile answer', width: 256, height: 256 }] } },
  );
  expect(status).toBe(200);
  const result = body.data?.generateWorksheetImages.results[0];
  if (!result) throw new Error(`no result: ${JSON.stringify(body)}`);
  return { result, written: upstream.bytesWritten - before };
}

describe('a hostile upstream, through the real server', () => {
  it('a valid answer still succeeds (the control case)', async () => {
    const { result } = await generateAgainst({ kind: 'ok' });
    expect(result).toMatchObject({ status: 'SUCCEEDED', mimeType: 'image/jpeg', error: null });
  });

  it('a 64 MiB JSON body is dropped as soon as it passes the bound, and the image fails saying so', async () => {
    const { result, written } = await generateAgainst({ kind: 'hugeJson', bytes: 64 * 1024 * 1024 });
    expect(result.status).toBe('FAILED');
    expect(result.error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: false });
    expect(result.error?.message).toContain(`more than this server accepts for one image (${MAX_IMAGE_BYTES} bytes)`);
    expect(written).toBeLessThan(READ_ALLOWANCE);
    expect(server.logs()).toContain('answer_too_large');
  });

  it('an endless body is dropped at the bound, long before the attempt times out', async () => {
    const startedAt = Date.now();
    const { result, written } = await generateAgainst({ kind: 'endlessJson' });
    expect(result.status).toBe('FAILED');
    expect(result.error?.message).toContain('more than this server accepts');
    expect(written).toBeLessThan(READ_ALLOWANCE);
    // Generous: the attempt timeout is 20 s; the bound ends it after about a megabyte.
    expect(Date.now() - startedAt).toBeLessThan(15_000);
  });

  it('a body declared at 300 MiB is refused before it is read', async () => {
    const { result } = await generateAgainst({ kind: 'declaredHuge', bytes: 300 * 1024 * 1024 });
    expect(result.status).toBe('FAILED');
    expect(result.error?.message).toContain('more than this server accepts');
  });

  it('bytes that merely start with a JPEG signature are not an image', async () => {
    const { result } = await generateAgainst({ kind: 'fakeImage' });
    expect(result.status).toBe('FAILED');
    expect(result.error?.message).toContain('not a whole JPEG, PNG, WebP or GIF image');
  });

  it('a PNG cut before its IEND chunk is not an image', async () => {
    const png = tinyPng('cut');
    const { result } = await generateAgainst({ kind: 'truncatedImage', bytes: png.subarray(0, png.length - 12) });
    expect(result.status).toBe('FAILED');
    expect(result.error?.message).toContain('not a whole');
  });

  it('an image URL on an allowed host is fetched', async () => {
    const downloads = upstream.counts.downloads;
    const { result } = await generateAgainst({ kind: 'url', file: { kind: 'image' } });
    expect(result).toMatchObject({ status: 'SUCCEEDED', mimeType: 'image/jpeg' });
    expect(upstream.counts.downloads).toBe(downloads + 1);
  });

  it('an image URL that points at a 300 MiB file is dropped at the bound', async () => {
    const { result, written } = await generateAgainst({ kind: 'url', file: { kind: 'big', bytes: 300 * 1024 * 1024 } });
    expect(result.status).toBe('FAILED');
    expect(result.error?.message).toContain('more than this server accepts');
    expect(written).toBeLessThan(READ_ALLOWANCE);
  });

  it('an image URL that redirects is not followed', async () => {
    const downloads = upstream.counts.downloads;
    const { result } = await generateAgainst({ kind: 'url', file: { kind: 'redirect' } });
    expect(result.status).toBe('FAILED');
    expect(result.error?.message).toContain('HTTP 302');
    // The redirect itself was fetched; its target never was.
    expect(upstream.counts.downloads).toBe(downloads + 1);
  });

  it.each([
    ['another loopback port', () => `http://127.0.0.1:${(offList.address() as AddressInfo).port}/image.jpg`],
    ['https on a host not listed', () => `https://127.0.0.1:${(offList.address() as AddressInfo).port}/image.jpg`],
    ['a URL with credentials', () => `${upstream.origin.replace('http://', 'http://user:pw@')}/files/x`],
  ])('an image URL on %s is never fetched', async (_name, url) => {
    const { result } = await generateAgainst({ kind: 'url', url: url() });
    expect(result.status).toBe('FAILED');
    expect(result.error?.message).toContain('host this server does not trust');
    expect(offListHits).toBe(0);
  });

  it.each([400, 404, 422, 500])(
    "HTTP %i: the client sees our words, the log the upstream's, scrubbed",
    async (status) => {
      const reversed = [...HOSTILE_API_KEY].reverse().join('');
      const base64 = Buffer.from(HOSTILE_API_KEY).toString('base64');
      const pieces = `${HOSTILE_API_KEY.slice(0, 12)} ${HOSTILE_API_KEY.slice(12)}`;
      const text = `Re-enter your password at http://evil.example/login ${reversed} ${base64} ${pieces}`;
      const { result } = await generateAgainst({ kind: 'error', status, text });
      expect(result.status).toBe('FAILED');
      expect(result.error?.message).toContain(`HTTP ${status}`);
      expect(result.error?.message).not.toMatch(/evil|password/);
      const logs = server.logs();
      expect(logs).toContain('Re-enter your password');
      for (const secret of [HOSTILE_API_KEY, reversed, base64, HOSTILE_API_KEY.slice(0, 12)]) {
        expect(logs).not.toContain(secret);
      }
    },
  );

  it('leaves the server healthy and answering', async () => {
    const health = await fetch(server.url.replace('/graphql', '/health'));
    expect(health.status).toBe(200);
    const { result } = await generateAgainst({ kind: 'ok' });
    expect(result.status).toBe('SUCCEEDED');
  });
});
