/**
 * A client of the memory scenario, alone in its own process so that its peak RSS is its own. Started by
 * bench/memory.ts with `node --import tsx`; takes its task as JSON in BENCH_MEMORY_CLIENT and sends its
 * MemoryClientReport to the parent over IPC.
 *
 * Strategies, all possible with the current API:
 * - single-response: one generateWorksheetImages mutation whose answer carries all the data URLs (today's design);
 *   the client necessarily holds the whole answer at once.
 * - subscription-per-image: startWorksheetImages without images, then generationProgress events that carry each
 *   image's data URL as it succeeds, one at a time; the client hands each image on and keeps none.
 * - image-per-mutation: generateImage once per placeholder, 8 at a time; each answer carries one data URL.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { batchImages, postGraphQL } from './clients.js';

export type MemoryStrategy = 'single-response' | 'subscription-per-image' | 'image-per-mutation';

export interface MemoryClientTask {
  strategy: MemoryStrategy;
  url: string;
  wsUrl: string;
  images: number;
  side: number;
  /** Client-side concurrency of image-per-mutation. */
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
  /** The largest single answer the client had to hold. */
  largestMessageBytes: number;
  rssBeforeBytes: number;
  maxRssBytes: number;
}

const task = JSON.parse(process.env.BENCH_MEMORY_CLIENT ?? '{}') as MemoryClientTask;
const images = batchImages(task.images, `memory ${task.strategy}`, task.side);
const rssBeforeBytes = process.memoryUsage.rss();
const started = performance.now();
let imagesDelivered = 0;
let bytesReceived = 0;
let imageBytes = 0;
let largestMessageBytes = 0;
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
    largestMessageBytes = answer.bytes;
    answer.data?.generateWorksheetImages.results.forEach((result) => accept(result.image));
    batchMs = answer.data?.generateWorksheetImages.stats.durationMs ?? null;
    // An editor keeps what it received until it has placed the images; so does this client, until it has measured.
    kept = answer;
    break;
  }
  case 'subscription-per-image': {
    const jobId = `memory-${Date.now()}`;
    const client = createClient({ url: task.wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<{ generationProgress: { done: boolean; image: { status: string; image: string | null } | null } }>(
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

const report: MemoryClientReport = {
  strategy: task.strategy,
  wallMs: performance.now() - started,
  imagesDelivered,
  bytesReceived,
  imageBytes,
  largestMessageBytes,
  batchMs,
  rssBeforeBytes,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
};
process.send?.(report, () => {
  kept = undefined;
  process.exit(0);
});
void kept;
