/**
 * A deliberately broken image API on loopback, for proving the server's bounds: where test/support/fake-together.ts
 * is a faithful Together, this one answers POST {root}/images/generations in the ways a compromised or buggy upstream
 * (or something in between) could: a huge or endless body, a declared size of hundreds of MiB, an image URL that
 * redirects, points off the allow-list or at a huge file, bytes that only start like an image, error text written to
 * fool a reader. Everything it writes is counted, and every stream it writes stops at a cap of its own, so a test
 * that goes wrong ends instead of filling the machine.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tinyJpeg } from './test-images.js';

export const HOSTILE_API_KEY = 'hostile-upstream-test-key';

export type HostileAnswer =
  /** A valid JPEG as b64_json: the control case. */
  | { kind: 'ok' }
  /** 200 JSON whose b64_json field streams `bytes` of base64 (no Content-Length). */
  | { kind: 'hugeJson'; bytes: number }
  /** 200 JSON that never ends: base64 until the client goes away (or the cap). */
  | { kind: 'endlessJson' }
  /** 200 with Content-Length of `bytes`, then a trickle. */
  | { kind: 'declaredHuge'; bytes: number }
  /** b64_json of bytes that start with a JPEG signature and are nothing else. */
  | { kind: 'fakeImage' }
  /** b64_json of a real PNG's first `keep` bytes: IHDR present, IEND missing. */
  | { kind: 'truncatedImage'; bytes: Buffer }
  /** data[0].url naming a file on this server (see HostileFile), or any URL. */
  | { kind: 'url'; file?: HostileFile; url?: string }
  /** An error status whose message says `text`. */
  | { kind: 'error'; status: number; text: string };

export type HostileFile =
  | { kind: 'image' }
  /** A valid-looking file of `bytes` (a JPEG head, then random bytes) streamed without Content-Length. */
  | { kind: 'big'; bytes: number }
  /** 302 to the valid image. */
  | { kind: 'redirect' };

/** No stream written here goes past this, whatever a test asks: 512 MiB. */
const HARD_CAP = 512 * 1024 * 1024;
const CHUNK = 64 * 1024;

export interface HostileUpstream {
  /** The API root, http://127.0.0.1:PORT/v1, for TOGETHER_BASE_URL. */
  readonly url: string;
  /** http://127.0.0.1:PORT, for TOGETHER_IMAGE_HOSTS. */
  readonly origin: string;
  /** What the next generation requests get; the last one stays. */
  answer(answer: HostileAnswer): void;
  /** Bytes written to response bodies, over all requests. */
  readonly bytesWritten: number;
  /** Generation requests, file downloads received. */
  readonly counts: { generations: number; downloads: number };
  /** How many streams were cut short because the client went away. */
  readonly abandoned: number;
  close(): Promise<void>;
}

export async function startHostileUpstream(): Promise<HostileUpstream> {
  let current: HostileAnswer = { kind: 'ok' };
  let bytesWritten = 0;
  let abandoned = 0;
  const counts = { generations: 0, downloads: 0 };
  const sockets = new Set<Socket>();
  let origin = '';

  /** Writes `total` bytes from `next`, respecting backpressure, until done, the client leaves, or the cap. */
  const stream = async (response: ServerResponse, total: number, next: () => Buffer, end = '') => {
    let sent = 0;
    const limit = Math.min(total, HARD_CAP);
    while (sent < limit) {
      if (response.destroyed) {
        abandoned += 1;
        return;
      }
      const chunk = next().subarray(0, limit - sent);
      sent += chunk.length;
      bytesWritten += chunk.length;
      if (!response.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            response.off('drain', done);
            response.off('close', done);
            resolve();
          };
          response.once('drain', done);
          response.once('close', done);
        });
      }
    }
    response.end(end);
  };
  const base64Chunk = Buffer.alloc(CHUNK, 'A');

  const json = (response: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    bytesWritten += Buffer.byteLength(text);
    response.writeHead(status, { 'content-type': 'application/json' }).end(text);
  };
  const image = (bytes: Buffer) => ({ data: [{ index: 0, b64_json: bytes.toString('base64'), type: null }] });

  const generation = async (response: ServerResponse) => {
    counts.generations += 1;
    const answer = current;
    switch (answer.kind) {
      case 'ok':
        return json(response, 200, image(tinyJpeg('hostile')));
      case 'fakeImage':
        return json(response, 200, image(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(4096)])));
      case 'truncatedImage':
        return json(response, 200, image(answer.bytes));
      case 'error':
        return json(response, answer.status, { error: { message: answer.text, type: 'invalid_request_error' } });
      case 'url':
        return json(response, 200, {
          data: [{ index: 0, url: answer.url ?? `${origin}/files/${encodeURIComponent(JSON.stringify(answer.file))}` }],
        });
      case 'hugeJson':
      case 'endlessJson': {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"data":[{"index":0,"b64_json":"');
        const total = answer.kind === 'hugeJson' ? answer.bytes : HARD_CAP;
        return stream(response, total, () => base64Chunk, '"}]}');
      }
      case 'declaredHuge': {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(answer.bytes) });
        response.write('{"data":[{"index":0,"b64_json":"');
        return stream(response, Math.min(answer.bytes, 4 * CHUNK), () => base64Chunk);
      }
    }
  };

  const file = async (response: ServerResponse, description: string) => {
    counts.downloads += 1;
    const wanted = JSON.parse(description) as HostileFile;
    if (wanted.kind === 'redirect') {
      response.writeHead(302, { location: `${origin}/files/${encodeURIComponent('{"kind":"image"}')}` }).end();
      return;
    }
    if (wanted.kind === 'image') {
      const bytes = tinyJpeg('hostile-file');
      bytesWritten += bytes.length;
      response.writeHead(200, { 'content-type': 'image/jpeg' }).end(bytes);
      return;
    }
    response.writeHead(200, { 'content-type': 'image/jpeg' });
    const head = tinyJpeg('head').subarray(0, 20);
    let first = true;
    await stream(response, wanted.bytes, () => {
      if (!first) return randomBytes(CHUNK);
      first = false;
      return Buffer.concat([head, randomBytes(CHUNK - head.length)]);
    });
  };

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.once('end', () => {
      const path = (request.url ?? '/').split('?')[0] ?? '/';
      const work =
        request.method === 'POST' && path === '/v1/images/generations'
          ? generation(response)
          : request.method === 'GET' && path.startsWith('/files/')
            ? file(response, decodeURIComponent(path.slice('/files/'.length)))
            : Promise.resolve(void response.writeHead(404).end());
      work.catch(() => response.destroy());
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: `${origin}/v1`,
    origin,
    answer(answer) {
      current = answer;
    },
    get bytesWritten() {
      return bytesWritten;
    },
    get abandoned() {
      return abandoned;
    },
    counts,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
