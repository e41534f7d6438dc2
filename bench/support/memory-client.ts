/**
 * A client of the memory scenario, alone in its own process so that its peak RSS is its own. Started by
 * bench/memory.ts with `node --import tsx`; takes its task as JSON in BENCH_MEMORY_CLIENT and sends its
 * MemoryClientReport to the parent over IPC.
 *
 * Strategies, all possible with the current API:
 * - single-response: one generateWorksheetImages mutation whose answer carries all the data URLs (the contract's
 *   worst case); the client necessarily holds the whole answer at once.
 * - url-fetch: the design the server recommends for large batches. The mutation asks for `results { id status url
 *   mimeType }` only, then the client GETs each image's url, 8 at a time, and turns each into a data URL one at a time,
 *   handing it on and keeping none, so that it delivers data URLs to its caller like the other strategies.
 * - subscription-per-image: startWorksheetImages without images, then generationProgress events that carry each
 *   image's data URL as it succeeds, one at a time; the client hands each image on and keeps none.
 * - image-per-mutation: generateImage once per placeholder, 8 at a time; each answer carries one data URL.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { batchImages, postGraphQL } from './clients.js';

export type MemoryStrategy = 'single-response' | 'url-fetch' | 'subscription-per-image' | 'image-per-mutation';

export interface MemoryClientTask {
  strategy: MemoryStrategy;
  url: string;
  wsUrl: string;
  images: number;
  side: number;
  /** Client-side concurrency of image-per-mutation and of url-fetch's GETs. */
  concurrency: number;
}

export interface MemoryClientReport {
  strategy: MemoryStrategy;
  wallMs: number;
  imagesDelivered: number;
  /** Bytes of GraphQL answers received (HTTP bodies and WebSocket frames). */
  bytesReceived: number;
  /** Decoded image bytes, summed. */
  imageBytes: number;
  /** The server's own stats.durationMs for the batch, when the strategy asks for it. */
  batchMs: number | null;
  /** The GraphQL answer of the batch's mutation, for the strategies that send one (single-response, url-fetch). */
  answerBytes: number | null;
  /** The largest single answer the client had to hold (GraphQL answer, WebSocket frame or image body). */
  largestMessageBytes: number;
  rssBeforeBytes: number;
  maxRssBytes: number;
  /** heapUsed + external after a full GC at the end, while the client still holds what it keeps (null without --expose-gc). */
  keptAfterGcBytes: number | null;
}

const task = JSON.parse(process.env.BENCH_MEMORY_CLIENT ?? '{}') as MemoryClientTask;
const images = batchImages(task.images, `memory ${task.strategy}`, task.side);
const rssBeforeBytes = process.memoryUsage.rss();
const started = performance.now();
let imagesDelivered = 0;
let bytesReceived = 0;
let imageBytes = 0;
let largestMessageBytes = 0;
let answerBytes: number | null = null;
let batchMs: number | null = null;

/** Checks a data URL the way a client that uses it would, and counts it. */
function accept(dataUrl: string | null | undefined): void {
  if (!dataUrl?.startsWith('data:image/')) return;
  const comma = dataUrl.indexOf(',');
  imageBytes += Math.floor(((dataUrl.length - comma - 1) * 3) / 4);
  imagesDelivered += 1;
}

let kept: unknown;
switch (task.strategy) {
  case 'single-response': {
    const answer = await postGraphQL<{
      generateWorksheetImages: { stats: { durationMs: number }; results: Array<{ image: string | null }> };
    }>(
      task.url,
      'mutation G($input: GenerateWorksheetImagesInput!) { generateWorksheetImages(input: $input) { id stats { durationMs } results { id success image } } }',
      { input: { images } },
    );
    bytesReceived = answer.bytes;
    answerBytes = answer.bytes;
    largestMessageBytes = answer.bytes;
    answer.data?.generateWorksheetImages.results.forEach((result) => accept(result.image));
    batchMs = answer.data?.generateWorksheetImages.stats.durationMs ?? null;
    // An editor keeps what it received until it has placed the images; so does this client, until it has measured.
    kept = answer;
    break;
  }
  case 'url-fetch': {
    const answer = await postGraphQL<{
      generateWorksheetImages: {
        stats: { durationMs: number };
        results: Array<{ id: string; status: string; url: string | null; mimeType: string | null }>;
      };
    }>(
      task.url,
      'mutation G($input: GenerateWorksheetImagesInput!) { generateWorksheetImages(input: $input) { id stats { durationMs } results { id status url mimeType } } }',
      { input: { images } },
    );
    bytesReceived = answer.bytes;
    answerBytes = answer.bytes;
    largestMessageBytes = answer.bytes;
    batchMs = answer.data?.generateWorksheetImages.stats.durationMs ?? null;
    const results = answer.data?.generateWorksheetImages.results ?? [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < results.length) {
        const result = results[next++];
        if (!result?.url || !result.mimeType) continue;
        // The url is relative to the server; no API_TOKENS in the bench, else the same bearer token as /graphql.
        const response = await fetch(new URL(result.url, task.url));
        const body = Buffer.from(await response.arrayBuffer());
        bytesReceived += body.length;
        largestMessageBytes = Math.max(largestMessageBytes, body.length);
        if (!response.ok || response.headers.get('content-type') !== result.mimeType) continue;
        // One data URL at a time: built, handed on (checked and counted), dropped.
        accept(`data:${result.mimeType};base64,${body.toString('base64')}`);
      }
    };
    await Promise.all(Array.from({ length: task.concurrency }, () => worker()));
    break;
  }
  case 'subscription-per-image': {
    const jobId = `memory-${Date.now()}`;
    const client = createClient({ url: task.wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<{
        generationProgress: { done: boolean; image: { status: string; image: string | null } | null };
      }>(
        {
          query:
            'subscription P($jobId: ID!) { generationProgress(jobId: $jobId) { sequence done image { id status image } } }',
          variables: { jobId },
        },
        {
          next: (result) => {
            const size = JSON.stringify(result).length;
            bytesReceived += size;
            largestMessageBytes = Math.max(largestMessageBytes, size);
            accept(result.data?.generationProgress.image?.image);
          },
          error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
          complete: () => resolve(),
        },
      );
    });
    // Subscribing first is allowed (the server waits for the job id), so no event is missed and none is replayed.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const answer = await postGraphQL(
      task.url,
      'mutation S($input: GenerateWorksheetImagesInput!) { startWorksheetImages(input: $input) { id status } }',
      { input: { jobId, images } },
    );
    bytesReceived += answer.bytes;
    await done;
    await client.dispose();
    break;
  }
  case 'image-per-mutation': {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < images.length) {
        const image = images[next++];
        if (!image) return;
        const answer = await postGraphQL<{ generateImage: { image: string | null } }>(
          task.url,
          'mutation I($prompt: String!, $width: Int!, $height: Int!) { generateImage(prompt: $prompt, width: $width, height: $height) { id status image } }',
          { prompt: image.prompt, width: image.width, height: image.height },
        );
        bytesReceived += answer.bytes;
        largestMessageBytes = Math.max(largestMessageBytes, answer.bytes);
        accept(answer.data?.generateImage.image);
      }
    };
    await Promise.all(Array.from({ length: task.concurrency }, () => worker()));
    break;
  }
}

// What the client still holds once done: a full GC first, so that only live objects count (a peak RSS also reflects
// how late V8 collects what was handed on).
// Two collections with a pause between: V8 frees dead Buffers' backing stores after the collection that found them.
const collect = (globalThis as { gc?: () => void }).gc;
collect?.();
await new Promise((resolve) => setTimeout(resolve, 250));
collect?.();
const afterGc = process.memoryUsage();
const report: MemoryClientReport = {
  strategy: task.strategy,
  wallMs: performance.now() - started,
  imagesDelivered,
  bytesReceived,
  imageBytes,
  largestMessageBytes,
  answerBytes,
  batchMs,
  rssBeforeBytes,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
  keptAfterGcBytes: collect ? afterGc.heapUsed + afterGc.external : null,
};
process.send?.(report, () => {
  kept = undefined;
  process.exit(0);
});
void kept;
