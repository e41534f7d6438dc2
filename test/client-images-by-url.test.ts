import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WorksheetImageGenerationService, type Worksheet } from '../src/client/index.js';
import { createGatedProvider } from './support/gated-provider.js';
import { tinyPng } from './support/test-images.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const TOKEN = 'large-jobs-token';
const MAX_INLINE_IMAGE_BYTES = 4096;
const IMAGES = 12;

function manyPictures(): Worksheet {
  const prompts = Array.from({ length: IMAGES }, (_, index) => `picture number ${index} of a large worksheet`);
  return { pages: [{ elements: prompts.map((prompt) => ({ type: 'image', prompt, width: 256, height: 256 })) }] };
}

/** Fetches through the global fetch, counting the picture downloads and how many ran at once. */
function countingFetch() {
  const downloads: string[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const fetchImpl: typeof fetch = async (input, init) => {
    if (!String(input).includes('/images/')) return fetch(input, init);
    downloads.push(new URL(String(input)).pathname);
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    try {
      return await fetch(input, init);
    } finally {
      inFlight -= 1;
    }
  };
  return { fetchImpl, downloads, mostInFlight: () => mostInFlight };
}

describe('the typed client on a job whose pictures together exceed MAX_INLINE_IMAGE_BYTES', () => {
  let server: TestServer;
  let origin: string;

  beforeAll(async () => {
    server = await startTestServer({
      MAX_INLINE_IMAGE_BYTES: String(MAX_INLINE_IMAGE_BYTES),
      API_TOKENS: TOKEN,
    });
    origin = new URL(server.url).origin;
  });

  afterAll(async () => {
    await server?.close();
  });

  /** The picture as the server serves it at /images/<jobId>/<requestId>, as a data URL; its size in bytes. */
  async function servedPicture(jobId: string, requestId: string): Promise<{ dataUrl: string; bytes: number }> {
    const response = await fetch(`${origin}/images/${jobId}/${requestId}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    return {
      dataUrl: `data:${response.headers.get('content-type')};base64,${bytes.toString('base64')}`,
      bytes: bytes.length,
    };
  }

  async function expectEveryPlaceholderFilled(service: WorksheetImageGenerationService) {
    const errors: unknown[] = [];
    const illustrated = await service.generateImagesForWorksheet(manyPictures(), undefined, {
      onImage: (image) => {
        if (image.status === 'SUCCEEDED' && !image.image) errors.push(`${image.requestId} reported without picture`);
      },
    });
    expect(errors).toEqual([]);
    expect(illustrated.status).toBe('COMPLETED');
    expect(illustrated.stats).toMatchObject({ total: IMAGES, successful: IMAGES, failed: 0 });

    let total = 0;
    const elements = illustrated.worksheet.pages[0]?.elements ?? [];
    expect(elements).toHaveLength(IMAGES);
    for (const [index, element] of elements.entries()) {
      const served = await servedPicture(illustrated.jobId ?? '', `0-${index}`);
      total += served.bytes;
      expect(element).toMatchObject({ src: served.dataUrl, imageError: null });
      expect(illustrated.results[index]).toMatchObject({ requestId: `0-${index}`, image: served.dataUrl });
    }
    // The case at hand: one answer holding every picture would be refused.
    expect(total).toBeGreaterThan(MAX_INLINE_IMAGE_BYTES);
    return illustrated;
  }

  it('fills every placeholder over WebSocket, with the pictures the progress events brought', async () => {
    const counting = countingFetch();
    const service = new WorksheetImageGenerationService({
      url: server.url,
      token: TOKEN,
      webSocketImpl: WebSocket,
      fetchImpl: counting.fetchImpl,
    });
    try {
      await expectEveryPlaceholderFilled(service);
      expect(counting.downloads).toEqual([]);
    } finally {
      await service.dispose();
    }
  });

  it('fills every placeholder over the polling fallback, fetching each picture from its url once, a few at a time', async () => {
    const unreachable = await startTestServer();
    await unreachable.close();
    const counting = countingFetch();
    const service = new WorksheetImageGenerationService({
      url: server.url,
      wsUrl: unreachable.wsUrl,
      token: TOKEN,
      webSocketImpl: WebSocket,
      fetchImpl: counting.fetchImpl,
      retryAttempts: 0,
      pollIntervalMs: 25,
    });
    try {
      const illustrated = await expectEveryPlaceholderFilled(service);
      expect([...counting.downloads].sort()).toEqual(
        Array.from({ length: IMAGES }, (_, index) => `/images/${illustrated.jobId}/0-${index}`).sort(),
      );
      expect(counting.mostInFlight()).toBeGreaterThanOrEqual(1);
      expect(counting.mostInFlight()).toBeLessThanOrEqual(4);
    } finally {
      await service.dispose();
    }
  });

  it('keeps the pictures made before a cancel, although together they exceed the limit', async () => {
    const provider = createGatedProvider();
    // Each gated picture is a tiny PNG; two of them are more than one answer may hold.
    const limit = Math.ceil(tinyPng('x').length * 1.5);
    const gated = await startTestServer(
      { MAX_INLINE_IMAGE_BYTES: String(limit), API_TOKENS: TOKEN, GENERATION_CONCURRENCY: '4' },
      { provider },
    );
    const service = new WorksheetImageGenerationService({ url: gated.url, token: TOKEN, webSocketImpl: WebSocket });
    try {
      const controller = new AbortController();
      const worksheet: Worksheet = {
        pages: [
          {
            elements: ['a cat', 'a dog', 'a bee', 'a fish'].map((prompt) => ({
              type: 'image',
              prompt,
              width: 64,
              height: 64,
            })),
          },
        ],
      };
      let succeeded = 0;
      const generating = service.generateImagesForWorksheet(worksheet, undefined, {
        signal: controller.signal,
        onImage: (image) => {
          if (image.status !== 'SUCCEEDED') return;
          succeeded += 1;
          if (succeeded === 2) controller.abort();
        },
      });
      await provider.whenWaiting(4);
      provider.release(2);
      const illustrated = await generating;

      expect(illustrated.status).toBe('CANCELLED');
      expect(illustrated.stats).toMatchObject({ successful: 2, cancelled: 2 });
      const made = illustrated.results.filter((result) => result.status === 'SUCCEEDED');
      expect(made).toHaveLength(2);
      for (const result of made) {
        const response = await fetch(new URL(result.url ?? '', gated.url), {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const bytes = Buffer.from(await response.arrayBuffer());
        expect(result.image).toBe(`data:image/png;base64,${bytes.toString('base64')}`);
      }
      expect(illustrated.results.filter((result) => result.error?.code === 'CANCELLED')).toHaveLength(2);
      const sources = illustrated.worksheet.pages[0]?.elements.map((element) => element.src);
      expect(sources?.filter(Boolean).sort()).toEqual(made.map((result) => result.image).sort());
    } finally {
      await service.dispose();
      await gated.close();
    }
  });
});
