/**
 * Scenario 4, memory: one batch of 100 images of 1024x1024 at a realistic ~1.5 MB each (incompressible JPEG bytes),
 * delivered as data URLs. The server and each client run in processes of their own, fresh for every strategy, so
 * each peak RSS is that process's alone. The contract's worst case (one answer with 100 data URLs) is measured first,
 * then the design the server recommends for large batches (urls in the answer, each image fetched by its url), then
 * the other strategies that bound what one message carries. Last, the job store's byte budget
 * (JOB_MAX_RETAINED_BYTES) is checked: several large batches in a row on one server, stored bytes after each.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startFakeTogether } from '../test/support/fake-together.js';
import { randomJpegOfSize } from '../test/support/test-images.js';
import type { MemoryClientReport, MemoryClientTask, MemoryStrategy } from './support/memory-client.js';
import { parseConfig } from '../src/config.js';
import { batchImages, postGraphQL } from './support/clients.js';
import { benchServerEnvironment, startServerChild, type ServerUsage } from './support/server-child.js';
import { ms, type Scenario, table } from './report.js';
import { mebibytes, MIB, round } from './support/statistics.js';

export const MEMORY_STRATEGY_LABELS: Record<MemoryStrategy, string> = {
  'single-response': "one mutation answer with every data URL (the contract's worst case)",
  'url-fetch': 'mutation answers urls only; client GETs each url, 8 at a time, one data URL at a time (recommended)',
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
    /** The client process's RSS before its first request (Node, tsx and the GraphQL/WebSocket clients loaded). */
    startRssMiB: number;
    maxRssMiB: number;
    /** JavaScript heap + external memory after a full GC at the end, before the client lets go of what it keeps. */
    keptAfterGcMiB: number | null;
    receivedMiB: number;
    largestMessageMiB: number;
    /** The batch mutation's GraphQL answer, when the strategy sends one. */
    answerKiB: number | null;
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
  /** Large batches in a row on one server with the default byte budget: what the job store keeps. */
  retention: RetentionResult | null;
}

export interface RetentionResult {
  /** JOB_MAX_RETAINED_BYTES, the server's default. */
  budgetMiB: number;
  imagesPerBatch: number;
  /** What one finished batch stores, computed: images x bytes. */
  batchMiB: number;
  idleRssMiB: number;
  idleExternalMiB: number;
  batches: Array<{
    batch: number;
    delivered: number;
    /** After the batch and a full GC: external memory over idle is the stored image bytes. */
    retainedRssMiB: number;
    retainedExternalMiB: number;
    storedMiB: number;
    /** HTTP status of GET on the first batch's first image url: 200 while kept, 404 once evicted. */
    firstBatchImageStatus: number;
  }>;
}

export interface MemoryOptions {
  batchSizes?: number[];
  imageBytes?: number;
  latencyMs?: number;
  strategies?: MemoryStrategy[];
  /** Batches of the largest size run in a row for the byte-budget check; 0 skips it. */
  retentionBatches?: number;
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
  const strategies = options.strategies ?? [
    'single-response',
    'url-fetch',
    'subscription-per-image',
    'image-per-mutation',
  ];
  const retentionBatches = options.retentionBatches ?? 5;
  // A few distinct incompressible JPEGs; the server decodes every answer into fresh bytes anyway.
  const pool = Array.from({ length: POOL_SIZE }, () => randomJpegOfSize(imageBytes));
  let served = 0;
  const fake = await startFakeTogether({ latencyMs, imageBytes: () => pool[served++ % POOL_SIZE] as Buffer });
  const dataUrlBytes = `data:image/jpeg;base64,`.length + Math.ceil(imageBytes / 3) * 4;
  const rows: MemoryRow[] = [];
  let retention: RetentionResult | null = null;
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
    if (retentionBatches > 0)
      retention = await measureRetention(fake.url, fake.apiKey, retentionBatches, images, imageBytes, side);
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
    retention,
  };
}

/**
 * `batches` batches of `images` in a row on one server with the default JOB_MAX_RETAINED_BYTES, each asking for urls
 * only (the recommended design; no image crosses the wire): after each, a full GC and the memory the process keeps,
 * and whether the first batch's first image is still served.
 */
async function measureRetention(
  upstreamUrl: string,
  apiKey: string,
  batches: number,
  images: number,
  imageBytes: number,
  side: number,
): Promise<RetentionResult> {
  const childOptions = { upstreamUrl, apiKey, environment: { GENERATION_CONCURRENCY: String(GENERATION_CONCURRENCY) } };
  const budgetBytes = parseConfig(benchServerEnvironment(childOptions)).jobs.maxRetainedBytes;
  const server = await startServerChild(childOptions);
  try {
    const idle = await server.gc();
    const rows: RetentionResult['batches'] = [];
    let firstUrl: string | undefined;
    for (let batch = 1; batch <= batches; batch += 1) {
      const answer = await postGraphQL<{
        generateWorksheetImages: { results: Array<{ status: string; url: string | null }> };
      }>(
        server.url,
        'mutation G($input: GenerateWorksheetImagesInput!) { generateWorksheetImages(input: $input) { id results { status url } } }',
        { input: { images: batchImages(images, `retention batch ${batch}`, side) } },
      );
      const results = answer.data?.generateWorksheetImages.results ?? [];
      firstUrl ??= results[0]?.url ?? undefined;
      const check = firstUrl ? await fetch(new URL(firstUrl, server.url), { method: 'HEAD' }) : undefined;
      // V8 frees Buffers' backing stores after the collection that found them dead: collect, let it sweep, collect.
      await server.gc();
      await new Promise((resolve) => setTimeout(resolve, 250));
      const retained = await server.gc();
      rows.push({
        batch,
        delivered: results.filter((result) => result.status === 'SUCCEEDED').length,
        retainedRssMiB: mebibytes(retained.rssBytes),
        retainedExternalMiB: mebibytes(retained.externalBytes),
        storedMiB: mebibytes(retained.externalBytes - idle.externalBytes),
        firstBatchImageStatus: check?.status ?? 0,
      });
      const last = rows.at(-1) as RetentionResult['batches'][number];
      console.log(
        `  memory: byte budget, batch ${batch} of ${images}, stored ${last.storedMiB} MiB (budget ${mebibytes(budgetBytes)} MiB), ` +
          `RSS ${last.retainedRssMiB} MiB, first batch's image: HTTP ${last.firstBatchImageStatus}`,
      );
    }
    return {
      budgetMiB: mebibytes(budgetBytes),
      imagesPerBatch: images,
      batchMiB: mebibytes(images * imageBytes),
      idleRssMiB: mebibytes(idle.rssBytes),
      idleExternalMiB: mebibytes(idle.externalBytes),
      batches: rows,
    };
  } finally {
    await server.stop();
  }
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
      startRssMiB: mebibytes(client.rssBeforeBytes),
      maxRssMiB: mebibytes(client.maxRssBytes),
      keptAfterGcMiB: client.keptAfterGcBytes === null ? null : mebibytes(client.keptAfterGcBytes),
      receivedMiB: mebibytes(client.bytesReceived),
      largestMessageMiB: round(client.largestMessageBytes / MIB, 2),
      answerKiB: client.answerBytes === null ? null : round(client.answerBytes / 1024, 1),
    },
  };
}

function runClient(task: MemoryClientTask): Promise<MemoryClientReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CLIENT_ENTRY], {
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

/** Per extra image from the smaller batch to the larger one, signed, in MiB. */
function slopes(memory: MemoryResult, strategy: MemoryStrategy) {
  const [small, large] = [Math.min(...memory.batchSizes), memory.images].map((images) =>
    memory.rows.find((row) => row.strategy === strategy && row.images === images),
  );
  const per = (pick: (row: MemoryRow) => number | null) => {
    const a = small ? pick(small) : null;
    const b = large ? pick(large) : null;
    return small && large && a !== null && b !== null && large.images !== small.images
      ? (b - a) / (large.images - small.images)
      : Number.NaN;
  };
  return {
    small,
    large,
    server: per((row) => row.server.peakRssMiB),
    client: per((row) => row.client.maxRssMiB),
    clientKept: per((row) => row.client.keptAfterGcMiB),
    stored: per((row) => row.server.retainedExternalMiB),
  };
}

const perImage = (value: number) =>
  Number.isNaN(value) ? '?' : `${value >= 0 ? '+' : '-'}${Math.abs(value).toFixed(1)} MiB`;

export const memory: Scenario<MemoryResult> = {
  name: 'memory',
  title: '4. Memory',
  run: () => runMemory(),
  targets: (memory) => {
    const imageMiB = memory.imageBytes / MIB;
    const worst = slopes(memory, 'single-response');
    const url = slopes(memory, 'url-fetch');
    const stored = memory.retention?.batches.map((batch) => batch.storedMiB) ?? [];
    const capHeld = memory.retention ? Math.max(...stored) <= memory.retention.budgetMiB : undefined;
    const urlBounded =
      url.large !== undefined &&
      url.large.client.largestMessageMiB <= 1.5 * imageMiB &&
      (Number.isNaN(url.clientKept) ? url.client : url.clientKept) < imageMiB / 10;
    return [
      [
        '4',
        `memory for ${memory.images} images of ~${(memory.imageBytes / 1e6).toFixed(1)} MB as data URLs: find the design that keeps it bounded`,
        [
          `one answer with every data URL (worst case): server peak ${worst.small?.server.peakRssMiB} / ${worst.large?.server.peakRssMiB} MiB at ${worst.small?.images} / ${worst.large?.images} images (${perImage(worst.server)} per image), client ${worst.small?.client.maxRssMiB} / ${worst.large?.client.maxRssMiB} MiB`,
          `urls, then GET 8 at a time (recommended): server ${url.small?.server.peakRssMiB} / ${url.large?.server.peakRssMiB} MiB (${perImage(url.server)} per image), client ${url.small?.client.maxRssMiB} / ${url.large?.client.maxRssMiB} MiB, largest message ${url.large?.client.largestMessageMiB} MiB`,
          memory.retention
            ? `stored bytes after ${stored.length} batches of ${memory.retention.imagesPerBatch}: ${stored.join(', ')} MiB (budget ${memory.retention.budgetMiB} MiB)`
            : '',
        ]
          .filter(Boolean)
          .join('; '),
        [
          `${worst.server <= imageMiB ? '**bounded**' : '**not bounded**'} for one answer with data URLs (the contract's worst case, up to MAX_BATCH_SIZE)`,
          `${urlBounded ? '**bounded**' : '**not bounded**'} in transit with urls`,
          capHeld === undefined ? '' : `stored bytes ${capHeld ? '**capped**' : '**over**'} by the byte budget`,
        ]
          .filter(Boolean)
          .join('; '),
      ],
    ];
  },
  report: (memory) => {
    const worst = slopes(memory, 'single-response').large;
    const retention = memory.retention;
    const last = retention?.batches.at(-1);
    const evicted = retention?.batches.find((batch) => batch.firstBatchImageStatus === 404);
    return `Batches of ${memory.side}x${memory.side} images at ~${(memory.imageBytes / 1e6).toFixed(1)} MB each (incompressible JPEG), every strategy handing its caller
one data URL per image. The server and each client run in fresh processes of their own; fake latency ${memory.latencyMs} ms,
GENERATION_CONCURRENCY ${memory.generationConcurrency}. Server RSS sampled every 10 ms; the client's peak is its process's maxRSS. The server runs
compiled (results from before 2026-11-30 ran it under tsx, whose loader is in their idle RSS). "Client keeps after GC" is its heap plus external memory after a full GC at the end, while it still holds what
it keeps. ${memory.images} images weigh ${memory.sizes.rawMiB} MiB as bytes (${(memory.imageBytes / MIB).toFixed(2)} MiB each) and ${memory.sizes.dataUrlsMiB} MiB as data URLs (${(memory.sizes.dataUrlsMiB / memory.images).toFixed(2)} MiB each).
No API_TOKENS in the bench; with tokens, the image urls take the same bearer token as /graphql.

${table(
  [
    'strategy',
    '>images',
    '>delivered',
    '>wall time',
    '>server idle RSS',
    '>server peak RSS',
    '>peak heap',
    '>peak external',
    '>RSS after GC',
    '>external after GC (stored image bytes)',
    '>client peak RSS (at start)',
    '>client keeps after GC',
    '>client received',
    '>largest message',
    '>batch answer',
  ],
  memory.rows.map((row) => [
    row.label,
    row.images,
    row.delivered,
    `${ms(row.wallMs)}${row.batchMs !== null ? ` (batch ${ms(row.batchMs)})` : ''}`,
    `${row.server.idleRssMiB} MiB`,
    `**${row.server.peakRssMiB} MiB**`,
    `${row.server.peakHeapUsedMiB} MiB`,
    `${row.server.peakExternalMiB} MiB`,
    `${row.server.retainedRssMiB} MiB`,
    `${row.server.retainedExternalMiB} MiB`,
    `**${row.client.maxRssMiB} MiB** (${row.client.startRssMiB})`,
    `${row.client.keptAfterGcMiB ?? '?'} MiB`,
    `${row.client.receivedMiB} MiB`,
    `${row.client.largestMessageMiB} MiB`,
    row.client.answerKiB === null
      ? ''
      : row.client.answerKiB < 1024
        ? `${row.client.answerKiB} KiB`
        : `${(row.client.answerKiB / 1024).toFixed(1)} MiB`,
  ]),
)}

Growth per extra image, from ${Math.min(...memory.batchSizes)} to ${memory.images} images (an image is ${(memory.imageBytes / MIB).toFixed(2)} MiB):

${table(
  ['strategy', '>server peak RSS', '>stored bytes', '>client peak RSS', '>client keeps after GC'],
  Object.entries(MEMORY_STRATEGY_LABELS).map(([strategy, label]) => {
    const s = slopes(memory, strategy as MemoryStrategy);
    return [label, perImage(s.server), perImage(s.stored), perImage(s.client), perImage(s.clientKept)];
  }),
)}

- **One answer with every data URL** (the contract still allows it, so it stays as the worst case): the answer holds
  every image several times over: base64 strings, the JSON text Yoga builds with JSON.stringify and its buffers.${
    worst
      ? ` At ${worst.images} images the server grew ${Math.round(worst.server.peakRssMiB - worst.server.idleRssMiB)} MiB over idle, its peak heap
  was ${(worst.server.peakHeapUsedMiB / memory.sizes.dataUrlsMiB).toFixed(1)} times the data URLs, and nothing bounds it but MAX_BATCH_SIZE.`
      : ''
  }
- **urls in the answer, each image fetched by its url** (recommended): the client GETs \`/images/<jobId>/<id>\` 8 at a
  time and builds one data URL at a time; the image route writes the stored Buffer as it is. What one message and the
  client cost is bounded by the image size; what still grows is the job store's copy of the bytes.
- **Each image in its own progress event** and **generateImage per placeholder** also carry one image per message;
  the first stores images like urls, the second stores nothing but loses the job, its progress and its idempotency key.
${
  retention
    ? `
### The byte budget: ${retention.batches.length} batches of ${retention.imagesPerBatch} in a row on one server
Each finished job keeps its bytes (${retention.batchMiB} MiB per batch) for JOB_RETENTION_MS; JOB_MAX_RETAINED_BYTES (default
${retention.budgetMiB} MiB) evicts the oldest finished jobs first. After each batch (urls only): two full GCs, the memory kept,
and a HEAD on the first batch's first url (idle: RSS ${retention.idleRssMiB} MiB, external ${retention.idleExternalMiB} MiB).

${table(
  [
    '>after batch',
    '>delivered',
    '>stored image bytes (external over idle)',
    '>RSS after GC',
    "first batch's first image",
  ],
  retention.batches.map((batch) => [
    batch.batch,
    `${batch.delivered}/${retention.imagesPerBatch}`,
    `${batch.storedMiB} MiB`,
    `${batch.retainedRssMiB} MiB`,
    `HTTP ${batch.firstBatchImageStatus}`,
  ]),
)}

${evicted ? `Finishing batch ${evicted.batch} evicted batch 1 (its url answers 404).` : 'No eviction was needed.'} RSS after GC ends ${last ? Math.round(last.retainedRssMiB - retention.idleRssMiB) : '?'} MiB over idle
for ${last?.storedMiB} MiB stored: V8 and the allocator keep the pages the batches grew into. The budget counts finished jobs
only: running jobs hold their bytes outside it, and the newest finished job is kept whatever its size.
`
    : ''
}`;
  },
};
