/**
 * Scenario 4, memory: one batch of 100 images of 1024x1024 at a realistic ~1.5 MB each (incompressible JPEG bytes),
 * delivered as data URLs. The server and each client run in processes of their own, fresh for every strategy, so
 * each peak RSS is that process's alone. Today's design (one answer with 100 data URLs) is measured first, then the
 * strategies the current API already allows that bound what one message carries.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startFakeTogether } from '../test/support/fake-together.js';
import { randomJpegOfSize } from '../test/support/test-images.js';
import type { MemoryClientReport, MemoryClientTask, MemoryStrategy } from './support/memory-client.js';
import { startServerChild, type ServerUsage } from './support/server-child.js';
import { mebibytes, MIB, round } from './support/statistics.js';

export const MEMORY_STRATEGY_LABELS: Record<MemoryStrategy, string> = {
  'single-response': 'one mutation answer with every data URL (today)',
  'subscription-per-image': 'startWorksheetImages + each data URL in its progress event',
  'image-per-mutation': 'generateImage per placeholder, 8 at a time',
};

export interface MemoryRow {
  strategy: MemoryStrategy;
  label: string;
  images: number;
  delivered: number;
  wallMs: number;
  /** For single-response: the batch itself, by the server's stats; the rest of wallMs is building and sending the answer. */
  batchMs: number | null;
  server: {
    idleRssMiB: number;
    /** Highest RSS sampled during the batch. */
    peakRssMiB: number;
    /** The kernel's peak RSS for the whole process. */
    maxRssMiB: number;
    peakHeapUsedMiB: number;
    peakExternalMiB: number;
    /** RSS after the batch and a full garbage collection: what the job store still holds. */
    retainedRssMiB: number;
    retainedExternalMiB: number;
  };
  client: {
    maxRssMiB: number;
    receivedMiB: number;
    largestMessageMiB: number;
  };
}

export interface MemoryResult {
  scenario: 'memory';
  /** The batch the issue asks about; smaller batches are run too, to see whether the peak grows with the batch. */
  images: number;
  batchSizes: number[];
  side: number;
  imageBytes: number;
  latencyMs: number;
  generationConcurrency: number;
  /** What the batch weighs in each form, computed. */
  sizes: { rawMiB: number; dataUrlsMiB: number };
  rows: MemoryRow[];
}

export interface MemoryOptions {
  batchSizes?: number[];
  imageBytes?: number;
  latencyMs?: number;
  strategies?: MemoryStrategy[];
}

const CLIENT_ENTRY = fileURLToPath(new URL('./support/memory-client.ts', import.meta.url));
const POOL_SIZE = 8;
const GENERATION_CONCURRENCY = 8;

export async function runMemory(options: MemoryOptions = {}): Promise<MemoryResult> {
  const batchSizes = options.batchSizes ?? [50, 100];
  const images = Math.max(...batchSizes);
  const imageBytes = options.imageBytes ?? 1_500_000;
  const latencyMs = options.latencyMs ?? 250;
  const side = 1024;
  const strategies = options.strategies ?? ['single-response', 'subscription-per-image', 'image-per-mutation'];
  // A few distinct incompressible JPEGs; the server decodes every answer into fresh bytes anyway.
  const pool = Array.from({ length: POOL_SIZE }, () => randomJpegOfSize(imageBytes));
  let served = 0;
  const fake = await startFakeTogether({ latencyMs, imageBytes: () => pool[served++ % POOL_SIZE] as Buffer });
  const dataUrlBytes = `data:image/jpeg;base64,`.length + Math.ceil(imageBytes / 3) * 4;
  const rows: MemoryRow[] = [];
  try {
    for (const strategy of strategies) {
      for (const batchSize of batchSizes) {
        const server = await startServerChild({
          upstreamUrl: fake.url,
          apiKey: fake.apiKey,
          environment: { GENERATION_CONCURRENCY: String(GENERATION_CONCURRENCY), BENCH_MEMORY_SAMPLING_MS: '10' },
        });
        try {
          const idle = await server.gc();
          await server.resetPeak();
          const client = await runClient({
            strategy,
            url: server.url,
            wsUrl: server.wsUrl,
            images: batchSize,
            side,
            concurrency: GENERATION_CONCURRENCY,
          });
          const during = await server.usage();
          const retained = await server.gc();
          rows.push(row(strategy, batchSize, client, idle, during, retained));
          const last = rows.at(-1) as MemoryRow;
          console.log(
            `  memory: ${strategy}, ${batchSize} images, server peak ${last.server.peakRssMiB} MiB (idle ${last.server.idleRssMiB}), ` +
              `client peak ${last.client.maxRssMiB} MiB, delivered ${client.imagesDelivered}/${batchSize}`,
          );
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    await fake.close();
  }
  return {
    scenario: 'memory',
    images,
    batchSizes,
    side,
    imageBytes,
    latencyMs,
    generationConcurrency: GENERATION_CONCURRENCY,
    sizes: { rawMiB: mebibytes(images * imageBytes), dataUrlsMiB: mebibytes(images * dataUrlBytes) },
    rows,
  };
}

function row(
  strategy: MemoryStrategy,
  images: number,
  client: MemoryClientReport,
  idle: ServerUsage,
  during: ServerUsage,
  retained: ServerUsage,
): MemoryRow {
  return {
    strategy,
    label: MEMORY_STRATEGY_LABELS[strategy],
    images,
    delivered: client.imagesDelivered,
    wallMs: round(client.wallMs),
    batchMs: client.batchMs,
    server: {
      idleRssMiB: mebibytes(idle.rssBytes),
      peakRssMiB: mebibytes(during.sampledPeakRssBytes),
      maxRssMiB: mebibytes(during.maxRssBytes),
      peakHeapUsedMiB: mebibytes(during.peakHeapUsedBytes),
      peakExternalMiB: mebibytes(during.peakExternalBytes),
      retainedRssMiB: mebibytes(retained.rssBytes),
      retainedExternalMiB: mebibytes(retained.externalBytes),
    },
    client: {
      maxRssMiB: mebibytes(client.maxRssBytes),
      receivedMiB: mebibytes(client.bytesReceived),
      largestMessageMiB: round(client.largestMessageBytes / MIB, 2),
    },
  };
}

function runClient(task: MemoryClientTask): Promise<MemoryClientReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLIENT_ENTRY], {
      env: { ...process.env, BENCH_MEMORY_CLIENT: JSON.stringify(task) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let report: MemoryClientReport | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('message', (message) => {
      report = message as MemoryClientReport;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (report) resolve(report);
      else reject(new Error(`the memory client (${task.strategy}) exited with code ${code} without a report`));
    });
  });
}
