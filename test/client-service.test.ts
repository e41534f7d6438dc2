import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import {
  GraphQLRequestError,
  GraphQLTransportError,
  ImageGenerationError,
  WorksheetImageGenerationService,
  type GenerationProgress,
  type ImageResultFieldsFragment,
  type Worksheet,
} from '../src/client/index.js';
import { ProviderError } from '../src/providers/provider-error.js';
import type { ImageProvider } from '../src/providers/types.js';
import { createGatedProvider, type GatedProvider } from './support/gated-provider.js';
import { tinyPng } from './support/test-images.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const PNG_DATA_URL = /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/;

const recordingFetch: typeof fetch = async (input, init) => {
  wire.push(`http:${(JSON.parse(String(init?.body)) as { operationName: string }).operationName}`);
  return fetch(input, init);
};

/** Two pages, three picture placeholders and a text element the client must leave alone. */
function animalsWorksheet(): Worksheet {
  return {
    title: 'Animals',
    pages: [
      {
        elements: [
          { type: 'text', text: 'Name the animals', x: 10, y: 10 },
          { type: 'image', prompt: 'a friendly cat', width: 256, height: 192, x: 10, y: 60 },
          { type: 'image', prompt: 'a dog with a ball', width: 200, height: 200 },
        ],
      },
      { elements: [{ type: 'image', prompt: 'a red bird on a branch', width: 320, height: 240, seed: 7 }] },
    ],
  };
}

function placeholdersWith(prompts: string[]): Worksheet {
  return { pages: [{ elements: prompts.map((prompt) => ({ type: 'image', prompt, width: 128, height: 128 })) }] };
}

/**
 * Draws at once, except: a prompt with "slow" waits until its request is aborted, and one with "flagged" is refused
 * as the safety checker would.
 */
function createScriptedProvider(): ImageProvider {
  return {
    name: 'local',
    placeholder: true,
    async generate(request, signal) {
      if (request.prompt.includes('flagged')) {
        throw new ProviderError('The prompt was flagged by the safety checker.', {
          code: 'CONTENT_FLAGGED',
          retryable: false,
          reason: 'flagged',
        });
      }
      if (request.prompt.includes('slow')) {
        await new Promise<never>((_resolve, reject) => {
          const stop = () =>
            reject(new ProviderError('Cancelled.', { code: 'CANCELLED', retryable: false, reason: 'cancelled' }));
          if (signal.aborted) stop();
          else signal.addEventListener('abort', stop, { once: true });
        });
      }
      return { mimeType: 'image/png', bytes: tinyPng(request.prompt) };
    },
    async close() {},
  };
}

/** A WebSocket URL on loopback where nothing listens any more. */
async function unreachableWsUrl(): Promise<string> {
  const unreachable = await startTestServer();
  await unreachable.close();
  return unreachable.wsUrl;
}

/** What went out, in order: "ws:<message type>" and "http:<operation name>". */
const wire: string[] = [];

/** The ws WebSocket, remembering every socket it opens and every message it sends. */
class RecordingWebSocket extends WebSocket {
  static sockets: RecordingWebSocket[] = [];
  readonly sent: string[] = [];

  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    RecordingWebSocket.sockets.push(this);
  }

  override send(data: unknown, ...rest: unknown[]): void {
    this.sent.push(String(data));
    wire.push(`ws:${(JSON.parse(String(data)) as { type: string }).type}`);
    (super.send as (...parameters: unknown[]) => void)(data, ...rest);
  }
}

describe('WorksheetImageGenerationService against the embedded provider', () => {
  let server: TestServer;
  let service: WorksheetImageGenerationService;

  beforeAll(async () => {
    server = await startTestServer();
    service = new WorksheetImageGenerationService({
      url: server.url,
      webSocketImpl: RecordingWebSocket,
      fetchImpl: recordingFetch,
    });
  });

  afterAll(async () => {
    await service?.dispose();
    await server?.close();
  });

  it('fills every placeholder of a worksheet with a PNG data URL and reports progress up to 3 of 3', async () => {
    const worksheet = animalsWorksheet();
    const original = structuredClone(worksheet);
    const updates: GenerationProgress[] = [];

    wire.length = 0;

    const illustrated = await service.generateImagesForWorksheet(worksheet, (progress) => updates.push(progress));

    expect(wire.slice(0, 3)).toEqual(['ws:connection_init', 'ws:subscribe', 'http:StartWorksheetImages']);
    expect(illustrated.status).toBe('COMPLETED');
    expect(illustrated.jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(illustrated.results.map((result) => [result.requestId, result.status])).toEqual([
      ['0-1', 'SUCCEEDED'],
      ['0-2', 'SUCCEEDED'],
      ['1-0', 'SUCCEEDED'],
    ]);
    expect(illustrated.stats).toMatchObject({ total: 3, successful: 3, failed: 0, cancelled: 0, pending: 0 });

    const [page0, page1] = illustrated.worksheet.pages;
    expect(page0?.elements[0]).toEqual(original.pages[0]?.elements[0]);
    for (const element of [page0?.elements[1], page0?.elements[2], page1?.elements[0]]) {
      expect(element).toMatchObject({ type: 'image', src: expect.stringMatching(PNG_DATA_URL), imageError: null });
    }
    expect(page0?.elements[1]).toMatchObject({ prompt: 'a friendly cat', x: 10, y: 60 });
    expect(worksheet).toEqual(original);

    expect(updates.at(-1)).toMatchObject({ completed: 3, total: 3, errors: 0 });
    expect(updates.every((update) => update.total === 3)).toBe(true);
    const completed = updates.map((update) => update.completed);
    expect(completed).toEqual([...completed].sort((a, b) => a - b));
  });

  it('reports each image state change to onImage, from QUEUED to its final state with the picture', async () => {
    const states = new Map<string, string[]>();
    const last = new Map<string, ImageResultFieldsFragment>();

    const illustrated = await service.generateImagesForWorksheet(animalsWorksheet(), undefined, {
      onImage: (image) => {
        states.set(image.requestId, [...(states.get(image.requestId) ?? []), image.status]);
        last.set(image.requestId, image);
      },
    });

    expect([...states.keys()].sort()).toEqual(['0-1', '0-2', '1-0']);
    for (const [id, seen] of states) {
      expect(seen[0], id).toBe('QUEUED');
      expect(seen.at(-1), id).toBe('SUCCEEDED');
      expect(new Set(seen).size, id).toBe(seen.length);
      expect(last.get(id)).toEqual(illustrated.results.find((result) => result.requestId === id));
    }
    expect(last.get('0-1')).toMatchObject({ image: expect.stringMatching(PNG_DATA_URL), placeholder: true });
  });

  it('answers a worksheet without placeholders as it is, without a job', async () => {
    const worksheet: Worksheet = { pages: [{ elements: [{ type: 'text', text: 'Only words' }] }] };

    const illustrated = await service.generateImagesForWorksheet(worksheet);

    expect(illustrated).toMatchObject({ jobId: null, status: 'COMPLETED', worksheet, results: [] });
  });

  it('generates a single image as a PNG data URL', async () => {
    const image = await service.generateSingleImage('a lighthouse at dusk', 320, 200, 42);

    expect(image).toMatch(PNG_DATA_URL);
  });

  it('rejects an empty prompt with an Error whose code is BAD_USER_INPUT', async () => {
    const failure = await service.generateSingleImage('', 256, 256).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(GraphQLRequestError);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/prompt/i) });
  });

  it('rejects a worksheet whose placeholder is too large with BAD_USER_INPUT', async () => {
    const worksheet: Worksheet = {
      pages: [{ elements: [{ type: 'image', prompt: 'a mural', width: 5000, height: 256 }] }],
    };

    await expect(service.generateImagesForWorksheet(worksheet)).rejects.toMatchObject({
      name: 'GraphQLRequestError',
      code: 'BAD_USER_INPUT',
    });
  });

  it('sends the bearer token over HTTP', async () => {
    const authorizations: Array<string | null> = [];
    const withToken = new WorksheetImageGenerationService({
      url: server.url,
      token: 'teacher-token',
      webSocketImpl: WebSocket,
      fetchImpl: async (input, init) => {
        authorizations.push(new Headers(init?.headers).get('authorization'));
        return fetch(input, init);
      },
    });

    await withToken.generateSingleImage('a tree', 128, 128);
    await withToken.dispose();

    expect(authorizations).toEqual(['Bearer teacher-token']);
  });

  it('falls back to polling generationJob when the WebSocket cannot connect', async () => {
    const wsUrl = await unreachableWsUrl();
    const polling = new WorksheetImageGenerationService({
      url: server.url,
      wsUrl,
      webSocketImpl: WebSocket,
      pollIntervalMs: 25,
    });
    const updates: GenerationProgress[] = [];
    const finalStates = new Map<string, string>();

    const illustrated = await polling.generateImagesForWorksheet(
      animalsWorksheet(),
      (progress) => updates.push(progress),
      {
        onImage: (image) => finalStates.set(image.requestId, image.status),
      },
    );
    await polling.dispose();

    expect(illustrated.status).toBe('COMPLETED');
    expect(Object.fromEntries(finalStates)).toEqual({ '0-1': 'SUCCEEDED', '0-2': 'SUCCEEDED', '1-0': 'SUCCEEDED' });
    expect(illustrated.results.every((result) => result.image?.startsWith('data:image/png;base64,'))).toBe(true);
    expect(updates.at(-1)).toMatchObject({ completed: 3, total: 3 });
  });
});

describe('WorksheetImageGenerationService after a dropped WebSocket', () => {
  let server: TestServer;
  let provider: GatedProvider;
  let service: WorksheetImageGenerationService;

  beforeAll(async () => {
    provider = createGatedProvider();
    server = await startTestServer({ GENERATION_CONCURRENCY: '2' }, { provider });
    service = new WorksheetImageGenerationService({ url: server.url, webSocketImpl: RecordingWebSocket });
  });

  afterAll(async () => {
    provider.open();
    await service?.dispose();
    await server?.close();
  });

  it('resubscribes with after: the last sequence it had, so no event and no image state comes twice', async () => {
    const socketsBefore = RecordingWebSocket.sockets.length;
    const states = new Map<string, string[]>();
    const updates: GenerationProgress[] = [];
    const generating = service.generateImagesForWorksheet(
      placeholdersWith(['a kite', 'a boat', 'a train']),
      (progress) => updates.push(progress),
      {
        onImage: (image) => states.set(image.requestId, [...(states.get(image.requestId) ?? []), image.status]),
      },
    );
    await provider.whenWaiting(2);
    provider.release(1);
    await expect.poll(() => states.get('0-0')?.at(-1), { timeout: 10_000 }).toBe('SUCCEEDED');
    // The network goes away under the client: no close handshake.
    const first = RecordingWebSocket.sockets[socketsBefore]!;
    const subscribed = (socket: RecordingWebSocket) =>
      socket.sent
        .map((frame) => JSON.parse(frame) as { type: string; payload?: { variables?: { after?: number } } })
        .filter((message) => message.type === 'subscribe');
    first.terminate();
    await expect.poll(() => RecordingWebSocket.sockets.length, { timeout: 10_000 }).toBe(socketsBefore + 2);
    provider.open();
    const illustrated = await generating;

    expect(illustrated.status).toBe('COMPLETED');
    expect(subscribed(first)[0]!.payload!.variables!.after).toBe(0);
    const resumedAfter = subscribed(RecordingWebSocket.sockets[socketsBefore + 1]!)[0]!.payload!.variables!.after!;
    expect(resumedAfter).toBeGreaterThanOrEqual(5);
    for (const id of ['0-0', '0-1', '0-2']) expect(states.get(id), id).toEqual(['QUEUED', 'GENERATING', 'SUCCEEDED']);
    expect(updates.at(-1)).toMatchObject({ completed: 3, total: 3 });
  });

  it('generates a single image under a jobId of its choosing, which cancel(jobId) stops from elsewhere', async () => {
    provider.shut();
    const generating = service
      .generateSingleImage('a cancelled comet', 256, 256, null, { jobId: 'client-single' })
      .catch((error: unknown) => error);
    await provider.whenWaiting(1);
    expect(await service.cancel('client-single')).toMatchObject({ status: 'CANCELLED' });
    const failure = await generating;
    expect(failure).toBeInstanceOf(ImageGenerationError);
    expect(failure).toMatchObject({ code: 'CANCELLED', status: 'CANCELLED' });
    provider.open();
  });

  it('cancels a single image on the server when its signal aborts, though the caller chose no jobId', async () => {
    provider.shut();
    const abort = new AbortController();
    const generating = service
      .generateSingleImage('an abandoned kite', 256, 256, null, { signal: abort.signal })
      .catch((error: unknown) => error);
    await provider.whenWaiting(1);
    abort.abort(new Error('the teacher closed the dialog'));

    expect(await generating).toMatchObject({ message: 'the teacher closed the dialog' });
    // The server's job was cancelled, not left running: its upstream call was aborted.
    await vi.waitFor(() => expect(provider.waiting).toHaveLength(0), { timeout: 10_000 });
    provider.open();
  });
});

describe('WorksheetImageGenerationService cancelling and closing', () => {
  let server: TestServer;
  let service: WorksheetImageGenerationService;

  beforeAll(async () => {
    server = await startTestServer({ GENERATION_CONCURRENCY: '1' }, { provider: createScriptedProvider() });
    service = new WorksheetImageGenerationService({ url: server.url, webSocketImpl: WebSocket });
  });

  afterAll(async () => {
    await service?.dispose();
    await server?.close();
  });

  it('cancels the job when the signal aborts mid-job: finished pictures stay, the rest are CANCELLED', async () => {
    const controller = new AbortController();
    const worksheet = placeholdersWith(['a quick cat', 'a slow dog', 'a slow bird', 'a slow fish']);
    const finalStates = new Map<string, string>();
    const updates: GenerationProgress[] = [];

    const illustrated = await service.generateImagesForWorksheet(
      worksheet,
      (progress) => {
        updates.push(progress);
        if (progress.completed >= 1) controller.abort();
      },
      { signal: controller.signal, onImage: (image) => finalStates.set(image.requestId, image.status) },
    );

    expect(illustrated.status).toBe('CANCELLED');
    expect(illustrated.results.map((result) => result.status)).toEqual([
      'SUCCEEDED',
      'CANCELLED',
      'CANCELLED',
      'CANCELLED',
    ]);
    expect(illustrated.results[1]?.error).toMatchObject({ code: 'CANCELLED' });
    expect([...finalStates.values()]).toEqual(['SUCCEEDED', 'CANCELLED', 'CANCELLED', 'CANCELLED']);
    expect(illustrated.stats).toMatchObject({ total: 4, successful: 1, cancelled: 3, pending: 0 });
    expect(updates.at(-1)).toEqual({ completed: 4, total: 4, errors: 0, current: null });
    const [first, ...rest] = illustrated.worksheet.pages[0]?.elements ?? [];
    expect(first).toMatchObject({ src: expect.stringMatching(PNG_DATA_URL) });
    for (const element of rest) {
      expect(element).toMatchObject({ imageError: { code: 'CANCELLED' } });
      expect(element).not.toHaveProperty('src');
    }
    const job = await service.getJob(illustrated.jobId ?? '');
    expect(job?.status).toBe('CANCELLED');
  });

  it('ends onProgress on the final state after a cancel answered before the next poll', async () => {
    // Polling once a minute, the only poll before the cancel sees the job running; the cancel's answer is the end.
    const wsUrl = await unreachableWsUrl();
    const polling = new WorksheetImageGenerationService({
      url: server.url,
      wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      pollIntervalMs: 60_000,
    });
    const controller = new AbortController();
    const updates: GenerationProgress[] = [];

    const illustrated = await polling.generateImagesForWorksheet(
      placeholdersWith(['a slow dog', 'a slow bird', 'a slow fish']),
      (progress) => {
        updates.push(progress);
        controller.abort();
      },
      { signal: controller.signal },
    );
    await polling.dispose();

    expect(illustrated.status).toBe('CANCELLED');
    expect(updates).toHaveLength(2);
    expect(updates[0]).toMatchObject({ completed: 0, total: 3 });
    expect(updates[1]).toEqual({ completed: 3, total: 3, errors: 0, current: null });
  });

  it('rejects with the abort reason when the signal aborted before the job was sent', async () => {
    const controller = new AbortController();
    controller.abort();

    await expect(
      service.generateImagesForWorksheet(placeholdersWith(['a cat']), undefined, { signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('throws an ImageGenerationError carrying the image error code when a single image fails', async () => {
    const failure = await service.generateSingleImage('a flagged picture', 128, 128).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ImageGenerationError);
    expect(failure).toMatchObject({
      code: 'CONTENT_FLAGGED',
      retryable: false,
      message: 'The prompt was flagged by the safety checker.',
    });
  });

  it('dispose closes the WebSocket and rejects the job it was following', async () => {
    RecordingWebSocket.sockets = [];
    const closing = new WorksheetImageGenerationService({
      url: server.url,
      token: 'teacher-token',
      webSocketImpl: RecordingWebSocket,
    });
    const jobId = `dispose-${Date.now()}`;
    let sawProgress!: () => void;
    const progressed = new Promise<void>((resolve) => (sawProgress = resolve));

    const following = closing.generateImagesForWorksheet(placeholdersWith(['a slow snail']), () => sawProgress(), {
      jobId,
    });
    const outcome = following.catch((error: unknown) => error);
    await progressed;
    const [socket] = RecordingWebSocket.sockets;
    expect(socket?.readyState).toBe(WebSocket.OPEN);
    const closed = new Promise<void>((resolve) => socket?.once('close', () => resolve()));

    await closing.dispose();
    await closed;

    expect(socket?.readyState).toBe(WebSocket.CLOSED);
    expect(await outcome).toMatchObject({ message: expect.stringMatching(/disposed/) });
    expect(JSON.parse(socket?.sent[0] ?? '{}')).toEqual({
      type: 'connection_init',
      payload: { authorization: 'Bearer teacher-token' },
    });
    await expect(closing.generateSingleImage('a cat', 128, 128)).rejects.toThrow(/disposed/);
    expect((await service.cancel(jobId)).status).toBe('CANCELLED');
  });
});

describe('WorksheetImageGenerationService without a url', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    await server?.close();
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("talks to the page's own origin's /graphql in a browser, over ws: for an http page", async () => {
    // A browser page served by the server: `location` is all the client looks at.
    vi.stubGlobal('location', new URL('/worksheets/7?draft=1', server.url));
    RecordingWebSocket.sockets = [];
    const sameOrigin = new WorksheetImageGenerationService({ webSocketImpl: RecordingWebSocket });
    const updates: GenerationProgress[] = [];

    const illustrated = await sameOrigin.generateImagesForWorksheet(animalsWorksheet(), (progress) =>
      updates.push(progress),
    );
    const image = await sameOrigin.generateSingleImage('a lighthouse', 128, 128);
    await sameOrigin.dispose();

    expect(illustrated.status).toBe('COMPLETED');
    expect(updates.at(-1)).toEqual({ completed: 3, total: 3, errors: 0, current: null });
    expect(image).toMatch(PNG_DATA_URL);
    expect(RecordingWebSocket.sockets.map((socket) => socket.url)).toEqual([server.wsUrl]);
  });

  it('uses wss: and https: for an https page', async () => {
    vi.stubGlobal('location', new URL('https://editor.example/worksheets/7'));
    const opened: string[] = [];
    const fetched: string[] = [];
    // Nothing leaves the machine: the socket and fetch record where they were sent and fail as a browser's would
    // when the host cannot be reached.
    class OfflineSocket {
      static readonly CONNECTING = 0;
      static readonly OPEN = 1;
      static readonly CLOSING = 2;
      static readonly CLOSED = 3;
      readyState = OfflineSocket.CONNECTING;
      onerror: ((event: unknown) => void) | null = null;
      onclose: ((event: { code: number; reason: string }) => void) | null = null;
      constructor(url: string) {
        opened.push(url);
        setTimeout(() => {
          this.readyState = OfflineSocket.CLOSED;
          this.onerror?.({ type: 'error' });
          this.onclose?.({ code: 1006, reason: '' });
        }, 0);
      }
      close() {}
      send() {}
    }
    const offline = new WorksheetImageGenerationService({
      webSocketImpl: OfflineSocket,
      retryAttempts: 0,
      fetchImpl: async (input) => {
        fetched.push(String(input));
        throw new TypeError('offline');
      },
    });

    await expect(offline.generateImagesForWorksheet(placeholdersWith(['a cat']))).rejects.toThrow(
      GraphQLTransportError,
    );
    await offline.dispose();

    expect(opened).toEqual(['wss://editor.example/graphql']);
    expect(fetched).toEqual(['https://editor.example/graphql']);
  });

  it('can be made in Node (a server-side render), but every call says that a url is needed', async () => {
    expect(globalThis.location).toBeUndefined();
    const nowhere = new WorksheetImageGenerationService();

    await expect(nowhere.generateSingleImage('a cat', 128, 128)).rejects.toThrow(
      /needs a `url` outside a web page served over http\(s\)/,
    );
    await expect(nowhere.generateImagesForWorksheet(placeholdersWith(['a cat']))).rejects.toThrow(TypeError);
    await expect(nowhere.getJob('some-job')).rejects.toThrow(/needs a `url`/);
  });

  it("refuses the old service's API key argument with a clear error", () => {
    const OldStyle = WorksheetImageGenerationService as unknown as new (apiKey: string) => unknown;
    expect(() => new OldStyle('together-key')).toThrow(/options object/);
  });
});

describe('the client module', () => {
  it('imports nothing server-only, so front ends can bundle it', () => {
    const directory = join(import.meta.dirname, '../src/client');
    // What a bundle loads: type-only imports are erased.
    const specifiers = readdirSync(directory, { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts'))
      .flatMap((name) => [
        ...readFileSync(join(directory, name), 'utf8').matchAll(
          /^(?:import|export) (?!type )[^;]*?\bfrom '([^']+)';$/gm,
        ),
      ])
      .map((match) => match[1] ?? '');

    const outside = specifiers.filter((specifier) => !specifier.startsWith('./') && !specifier.startsWith('../'));
    const relativeOutside = specifiers.filter((specifier) => specifier.startsWith('../'));
    // No graphql runtime (document-text.ts prints the documents) and no zod (worksheet.ts checks placeholders by hand).
    expect(new Set(outside)).toEqual(new Set(['graphql-ws/client']));
    expect(new Set(relativeOutside)).toEqual(new Set(['../worksheet/worksheet.js']));
  });
});
