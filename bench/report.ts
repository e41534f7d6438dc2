/**
 * Writes the results: one JSON file per scenario in bench/results/, the chart beside them, and docs/benchmarks.md
 * with the machine, how to reproduce, a table per scenario and what the figures mean. Scenarios not run this time
 * are taken from their last JSON file, so `npm run bench -- --only memory` refreshes one part of the page.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, release, totalmem, type } from 'node:os';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.js';
import type { MemoryResult } from './memory.js';
import type { ParallelEfficiencyResult } from './parallel-efficiency.js';
import type { ServerOverheadResult } from './server-overhead.js';
import type { SideBySideResult } from './side-by-side.js';

export const RESULTS_DIRECTORY = fileURLToPath(new URL('./results/', import.meta.url));
const DOCS_FILE = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const CHART_FILE = 'benchmarks.svg';

export interface Machine {
  os: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  togetherSdk: string;
}

export interface Stamped<T> {
  ranAt: string;
  machine: Machine;
  durationMs: number;
  /** The machine's 1-minute load average before and after the scenario: other work on the cores skews timings. */
  loadAverage: { before: number; after: number };
  result: T;
}

export interface AllResults {
  parallel?: Stamped<ParallelEfficiencyResult>;
  sideBySide?: Stamped<SideBySideResult>;
  overhead?: Stamped<ServerOverheadResult>;
  memory?: Stamped<MemoryResult>;
}

const FILES: Record<keyof AllResults, string> = {
  parallel: 'parallel-efficiency.json',
  sideBySide: 'side-by-side.json',
  overhead: 'server-overhead.json',
  memory: 'memory.json',
};

export function machine(): Machine {
  const processors = cpus();
  let togetherSdk = 'not installed';
  try {
    const manifest = fileURLToPath(new URL('../node_modules/together-ai/package.json', import.meta.url));
    togetherSdk = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    // Reported as not installed.
  }
  return {
    os: `${type()} ${release()} ${arch()}`,
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cores: processors.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    togetherSdk,
  };
}

/** The 1-minute load average, rounded. */
export function loadAverage(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

export function saveResult(key: keyof AllResults, stamped: Stamped<unknown>): void {
  mkdirSync(RESULTS_DIRECTORY, { recursive: true });
  writeFileSync(`${RESULTS_DIRECTORY}${FILES[key]}`, `${JSON.stringify(stamped, null, 2)}\n`);
}

export function loadResults(): AllResults {
  const all: AllResults = {};
  for (const [key, file] of Object.entries(FILES) as Array<[keyof AllResults, string]>) {
    const path = `${RESULTS_DIRECTORY}${file}`;
    if (existsSync(path)) (all as Record<string, unknown>)[key] = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  }
  return all;
}

/** Writes the chart and the markdown page from every result on disk; answers the summary table as text. */
export function writeReport(all: AllResults): string {
  mkdirSync(RESULTS_DIRECTORY, { recursive: true });
  writeFileSync(
    `${RESULTS_DIRECTORY}${CHART_FILE}`,
    renderChart({
      ...(all.parallel ? { parallel: all.parallel.result } : {}),
      ...(all.sideBySide ? { sideBySide: all.sideBySide.result } : {}),
      ...(all.overhead ? { overhead: all.overhead.result } : {}),
      ...(all.memory ? { memory: all.memory.result } : {}),
    }),
  );
  const summary = summaryTable(all);
  writeFileSync(DOCS_FILE, page(all, summary));
  return summary;
}

const yes = (met: boolean) => (met ? '**met**' : '**missed**');
const ms = (value: number) => `${Math.round(value).toLocaleString('en-US')} ms`;

function summaryTable(all: AllResults): string {
  const rows: string[] = ['| # | target | measured | verdict |', '| --- | --- | --- | --- |'];
  const parallel = all.parallel?.result;
  if (parallel) {
    const worst = parallel.rows.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    rows.push(
      `| 1 | wall time / ideal <= ${parallel.target} for N = ${parallel.rows.map((row) => row.images).join(', ')} (C = ${parallel.concurrency}, ${parallel.latencyMs} ms) | ` +
        `${parallel.rows.map((row) => `N=${row.images}: ${row.ratio.toFixed(3)}`).join('; ')} (worst ${worst.ratio.toFixed(3)}) | ${yes(parallel.met)} |`,
    );
  }
  const side = all.sideBySide?.result;
  if (side) {
    const calm = side.targets.noPressure;
    const pressure = side.targets.pressure;
    const limit = side.phases.find((phase) => phase.pressure)?.rateLimit;
    const delivered = (all: boolean) => (all ? 'every image' : 'images lost');
    rows.push(
      `| 2a | no pressure: (a) within ${Math.round((calm.target - 1) * 100)}% of (b), the SDK with Promise.all | ` +
        `GENERATION_CONCURRENCY 8 (default): ${calm.ratioDefault.toFixed(2)}x; 10 (= batch size): ${calm.ratioMatchedConcurrency.toFixed(3)}x | ` +
        `${yes(calm.metDefault)} at the default; ${yes(calm.metMatchedConcurrency)} with concurrency >= batch size |`,
    );
    rows.push(
      `| 2b | 429 when > ${limit?.maxInFlight} in flight, retry-after ${limit?.retryAfterSeconds} s: every image, within ${Math.round((pressure.target - 1) * 100)}% of ceil(N/K) x latency = ${ms(pressure.boundMs)} | ` +
        `C = 8: ${delivered(pressure.allDelivered)}, ${pressure.ratio.toFixed(3)}x; C = 10: ${delivered(pressure.allDeliveredMatchedConcurrency)}, ${pressure.ratioMatchedConcurrency.toFixed(3)}x; ` +
        `C = 10 with the completion-clocked 429 prototype: ${delivered(pressure.allDeliveredPrototype)}, ${pressure.ratioPrototype.toFixed(3)}x | ` +
        `${yes(pressure.met)} at the default; ${yes(pressure.allDeliveredMatchedConcurrency && pressure.ratioMatchedConcurrency <= pressure.target)} at C = 10; ` +
        `${yes(pressure.allDeliveredPrototype && pressure.ratioPrototype <= pressure.target)} at C = 10 with the prototype |`,
    );
  }
  const overhead = all.overhead?.result;
  if (overhead) {
    rows.push(
      `| 3 | server overhead (no target: measured) | ${overhead.throughput.imagesPerSecond} images/s with ${overhead.throughput.clients} clients; ` +
        `${overhead.throughput.cpuMsPerImage} CPU ms per image; progress events p50 ${overhead.progress.latencyMs.p50} ms, p99 ${overhead.progress.latencyMs.p99} ms with ${overhead.progress.subscribers} subscribers | measured |`,
    );
  }
  const memory = all.memory?.result;
  if (memory) {
    const at = (strategy: string, images: number) => memory.rows.find((row) => row.strategy === strategy && row.images === images);
    const small = Math.min(...memory.batchSizes);
    const today = at('single-response', memory.images);
    const todaySmall = at('single-response', small);
    const perImage = at('image-per-mutation', memory.images);
    const perImageSmall = at('image-per-mutation', small);
    const events = at('subscription-per-image', memory.images);
    rows.push(
      `| 4 | memory for ${memory.images} images of ~${(memory.imageBytes / 1e6).toFixed(1)} MB as data URLs: find the design that keeps it bounded | ` +
        `today (one answer): server peak ${todaySmall?.server.peakRssMiB} MiB at ${small} images, ${today?.server.peakRssMiB} MiB at ${memory.images} (idle ${today?.server.idleRssMiB}); client ${today?.client.maxRssMiB} MiB. ` +
        `One image per message: generateImage ${perImageSmall?.server.peakRssMiB} / ${perImage?.server.peakRssMiB} MiB, client ${perImage?.client.maxRssMiB} MiB; ` +
        `progress events ${events?.server.peakRssMiB} MiB, client ${events?.client.maxRssMiB} MiB | ` +
        `**not bounded** today (grows with the batch); bounded with one image per message; proposed design below |`,
    );
  }
  return rows.join('\n');
}

function page(all: AllResults, summary: string): string {
  const stamp = all.parallel ?? all.sideBySide ?? all.overhead ?? all.memory;
  const sections: string[] = [];
  sections.push(`# Benchmarks

Generated by \`npm run bench\` (bench/run.ts, bench/report.ts) from \`bench/results/*.json\`; do not edit by hand, run
the benchmarks again. Every figure comes from one run on one machine: the fake Together API
(test/support/fake-together.ts, Together's wire format, configurable latency and 429 rate limit) and the real server
(src/app.ts, in a child process of its own, fresh for every scenario) on 127.0.0.1. \`npm test\` does not run these.

![benchmark chart](../bench/results/${CHART_FILE})

## Targets
${summary}
`);

  if (stamp) {
    const m = stamp.machine;
    const runs = (
      [
        ['1. parallel efficiency', all.parallel],
        ['2. side by side', all.sideBySide],
        ['3. server overhead', all.overhead],
        ['4. memory', all.memory],
      ] as const
    )
      .filter((entry) => entry[1] !== undefined)
      .map(([name, entry]) => {
        const load = entry?.loadAverage;
        return `| ${name} | ${entry?.ranAt.slice(0, 19).replace('T', ' ')} | ${((entry?.durationMs ?? 0) / 1000).toFixed(0)} s | ${load ? `${load.before} / ${load.after}` : 'not recorded'} |`;
      });
    sections.push(`## Machine
| | |
| --- | --- |
| OS | ${m.os} |
| CPU | ${m.cpuModel} |
| cores | ${m.cores} |
| memory | ${m.memoryGiB} GiB |
| Node.js | ${m.node} |
| together-ai SDK | ${m.togetherSdk} |

| scenario | finished at (UTC) | took | load average (1 min) before / after |
| --- | --- | ---: | --- |
${runs.join('\n')}

A load average near or above the number of cores means other processes competed for the CPU during that scenario:
its timings are then pessimistic (timers fire late, answers wait for a core). The load generator (fake upstream and
clients) and the server share these cores, as they would on one developer
machine; CPU figures are the server process's own (\`process.cpuUsage()\` in the child).
`);
  }

  sections.push(`## How to reproduce
\`\`\`sh
npm ci
npm run bench                          # all four scenarios, about 3 minutes on 2 cores
npm run bench -- --only memory         # one or more of: parallel, side-by-side, overhead, memory
npm run bench -- --report              # only rebuild the chart and this page from bench/results/*.json
BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/profiles" npm run bench -- --only overhead   # profile the server
\`\`\`
Each scenario writes \`bench/results/<scenario>.json\`; the chart (\`bench/results/${CHART_FILE}\`) and this page are
rebuilt from every JSON file present. The server runs as \`node --import tsx bench/support/server-process.ts\`,
configured by the same environment variables as \`npm start\` (LOG_LEVEL=silent, QUOTA_IMAGES_PER_MINUTE=0).
`);

  const parallel = all.parallel?.result;
  if (parallel) {
    sections.push(`## 1. Parallel efficiency
Batches through the \`generateWorksheetImages\` mutation, fake upstream at ${parallel.latencyMs} ms per image,
GENERATION_CONCURRENCY ${parallel.concurrency}, ${parallel.imageSide}x${parallel.imageSide}, ${parallel.repetitions} runs per size after a warm-up batch. Wall time is the client's:
from sending the mutation to the last byte of its answer. Ideal = ceil(N / C) x latency.

| images | ideal | wall time, median | runs | ratio (median) | worst run | server stats.durationMs | upstream max in flight | delivered |
| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |
${parallel.rows
  .map(
    (row) =>
      `| ${row.images} | ${ms(row.idealMs)} | ${ms(row.medianWallMs)} | ${row.wallMs.map((value) => Math.round(value)).join(', ')} | ${row.ratio.toFixed(3)} | ${row.worstRatio.toFixed(3)} | ${ms(row.serverDurationMs)} | ${row.maxUpstreamInFlight} | ${row.succeeded}/${row.images} |`,
  )
  .join('\n')}
`);
  }

  const side = all.sideBySide?.result;
  if (side) {
    const table = (phase: SideBySideResult['phases'][number]) =>
      [
        '| client | wall time, median | runs (ms) | delivered per run | success rate | upstream requests | 429 answers |',
        '| --- | ---: | --- | --- | ---: | ---: | ---: |',
        ...phase.rows.map(
          (row) =>
            `| ${row.label} | ${ms(row.medianWallMs)} | ${row.runs.map((run) => Math.round(run.wallMs)).join(', ')} | ${row.runs.map((run) => `${run.succeeded}/${side.images}`).join(', ')} | ${Math.round(row.successRate * 100)}% | ${row.upstreamRequests} | ${row.runs.map((run) => run.upstream429).join(', ')} |`,
        ),
      ].join('\n');
    const pressed = side.phases.find((phase) => phase.pressure);
    const calm = side.phases.find((phase) => !phase.pressure);
    sections.push(`## 2. Side by side: ${side.images} images on the same fake
(a) this server through the GraphQL mutation; (b) the official \`together-ai\` SDK, \`client.images.generate\` for each
image with \`Promise.all\` and its default retries (2 retries, honouring retry-after); (c) one request after another,
three attempts each (the seed system's way); (d) every request at once, three attempts each, waiting retry-after.
Fake latency ${side.latencyMs} ms; ${side.repetitions} runs each ((c) once, it is deterministic). Each client warms up first; under
pressure every run of (a) gets a freshly started server, so the limiter never starts from what an earlier run taught it.

### Without pressure
${calm ? table(calm) : ''}

At its default GENERATION_CONCURRENCY of 8 the server sends 8 images, then 2: two rounds of ${side.latencyMs} ms where the
SDK, with no limit at all, needs one (${side.targets.noPressure.ratioDefault.toFixed(2)}x). With as many slots as images it is ${side.targets.noPressure.ratioMatchedConcurrency.toFixed(3)}x the SDK.

### Under rate-limit pressure: 429 with retry-after ${pressed?.rateLimit?.retryAfterSeconds} s when more than ${pressed?.rateLimit?.maxInFlight} requests are in flight
Best possible: ceil(${side.images} / ${pressed?.rateLimit?.maxInFlight}) x ${side.latencyMs} ms = ${ms(pressed?.boundMs ?? 0)}.

${pressed ? table(pressed) : ''}

A fixed retry budget loses images here: all requests go out at once, ${pressed?.rateLimit?.maxInFlight} get through per round, and after three
attempts the rest give up. The server loses none: its limiter lowers its concurrency to what the upstream carried
when it said no, and a 429 waits out retry-after without spending an attempt.

How close it comes to the bound depends on whether images are still queued when the 429s arrive. At the default
(C = 8) two images wait in the limiter's queue and use the ${side.latencyMs} ms between the first answers and the end of the
refused images' retry-after: ${side.targets.pressure.ratio.toFixed(3)}x the bound. With C = 10 the whole batch goes out at once, ${side.images - (pressed?.rateLimit?.maxInFlight ?? 0)} images are
refused and all sleep retry-after while the upstream, done with the first ${pressed?.rateLimit?.maxInFlight} at ${side.latencyMs} ms, sits idle:
${side.targets.pressure.ratioMatchedConcurrency.toFixed(3)}x. So no configuration of today's server meets 2a and 2b at once. The prototype (a''),
bench/support/completion-clocked-provider.ts, wraps the real provider so that a request refused while others are
still in flight waits for one of them to succeed and then goes again at once (retry-after still applies when nothing
else is in flight): at C = 10 it delivers ${side.targets.pressure.allDeliveredPrototype ? 'every image' : 'not every image'} in ${side.targets.pressure.ratioPrototype.toFixed(3)}x the bound, so with it
and a concurrency at least the batch size both targets are met.
`);
  }

  const overhead = all.overhead?.result;
  if (overhead) {
    const t = overhead.throughput;
    const p = overhead.progress;
    sections.push(`## 3. Server overhead
Fake upstream at latency 0 with tiny JPEGs, so the server's own work is what is measured.

| measure | value |
| --- | --- |
| throughput | ${t.imagesPerSecond} images/s (${t.images} images in ${t.mutations} mutations over ${t.windowMs / 1000} s, after ${t.warmUpMs / 1000} s warm-up) |
| clients | ${t.clients} concurrent, each sending \`generateWorksheetImages\` with ${t.imagesPerMutation} images (data URLs in the answer) again and again |
| server CPU per image | ${t.cpuMsPerImage} ms (user + system of the server process) |
| server CPU used | ${t.serverCpuCores} cores; load generator (fake + clients) ${t.loadGeneratorCpuCores} cores |
| mutation latency | p50 ${t.mutationLatencyMs.p50} ms, p99 ${t.mutationLatencyMs.p99} ms (queueing: ${t.clients} clients share one event loop) |
| failed images | ${t.failedImages} |
| GENERATION_CONCURRENCY | ${t.generationConcurrency} (above the default so that the limiter is not what is measured) |
| progress subscribers | ${p.subscribers} WebSocket connections (graphql-ws), each subscribed to the same job before it starts |
| progress jobs | ${p.rounds} jobs of ${p.imagesPerRound} images, GENERATION_CONCURRENCY ${p.generationConcurrency} |
| progress event latency | p50 ${p.latencyMs.p50} ms, p90 ${p.latencyMs.p90} ms, p99 ${p.latencyMs.p99} ms, max ${p.latencyMs.max} ms (${p.samples} SUCCEEDED events) |
| events delivered | ${p.eventsDelivered} (${p.missingEvents} missing) |
| server CPU per 1,000 events delivered | ${p.cpuMsPerThousandEvents} ms |

Event latency runs from the moment the fake built its answer for an image to the moment a subscriber's \`next\`
callback ran for that image's SUCCEEDED event. With latency 0 all images of a job are answered within a few
milliseconds, so each job is a burst of ${p.imagesPerRound * 3 + 1} events x ${p.subscribers} subscribers; graphql-ws executes the subscription's
selection once per subscriber and event, so the tail is the queue behind that burst, not a slow path.
At ${t.cpuMsPerImage} ms of server CPU per image, one server process (one event loop, one core) tops out near
${Math.round(1000 / t.cpuMsPerImage)} images/s; the measured rate is lower when the server gets less than a core (${t.serverCpuCores} here), which on
2 shared cores depends on what else runs (see the load average above). Real images (1.5 MB each) cost far more:
see section 4.
`);
  }

  const memory = all.memory?.result;
  if (memory) {
    sections.push(`## 4. Memory: batches of ${memory.side}x${memory.side} images at ~${(memory.imageBytes / 1e6).toFixed(1)} MB each (incompressible JPEG) as data URLs
The server and each client run in fresh processes of their own; fake latency ${memory.latencyMs} ms, GENERATION_CONCURRENCY
${memory.generationConcurrency}. Server RSS sampled every 10 ms (and the kernel's maxRSS); the client's peak is its process's maxRSS.
Idle RSS includes tsx, the in-process TypeScript loader the benchmark runs the server with.
${memory.images} images weigh ${memory.sizes.rawMiB} MiB as bytes and ${memory.sizes.dataUrlsMiB} MiB as data URLs. Each strategy runs at ${memory.batchSizes.join(' and ')}
images, to see whether the peak grows with the batch.

| strategy | images | delivered | wall time | server idle RSS | server peak RSS | peak heap | peak external | RSS after GC | external after GC (stored image bytes) | client peak RSS | client received | largest message |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${memory.rows
  .map(
    (row) =>
      `| ${row.label} | ${row.images} | ${row.delivered} | ${ms(row.wallMs)}${row.batchMs !== null ? ` (batch ${ms(row.batchMs)})` : ''} | ${row.server.idleRssMiB} MiB | **${row.server.peakRssMiB} MiB** | ${row.server.peakHeapUsedMiB} MiB | ${row.server.peakExternalMiB} MiB | ${row.server.retainedRssMiB} MiB | ${row.server.retainedExternalMiB} MiB | **${row.client.maxRssMiB} MiB** | ${row.client.receivedMiB} MiB | ${row.client.largestMessageMiB} MiB |`,
  )
  .join('\n')}
${memoryFindings(memory)}`);
  }
  return `${sections.join('\n')}`;
}

function memoryFindings(memory: MemoryResult): string {
  const at = (strategy: string, images: number) => memory.rows.find((row) => row.strategy === strategy && row.images === images);
  const small = Math.min(...memory.batchSizes);
  const large = memory.images;
  const today = at('single-response', large);
  const todaySmall = at('single-response', small);
  const events = at('subscription-per-image', large);
  const eventsSmall = at('subscription-per-image', small);
  const perImage = at('image-per-mutation', large);
  const perImageSmall = at('image-per-mutation', small);
  if (!today) return '';
  const growth = (row: typeof today | undefined) => (row ? Math.round(row.server.peakRssMiB - row.server.idleRssMiB) : Number.NaN);
  const slope = (a: typeof today | undefined, b: typeof today | undefined) => {
    if (!a || !b || b.images === a.images) return '?';
    const perImage = (b.server.peakRssMiB - a.server.peakRssMiB) / (b.images - a.images);
    return `${perImage >= 0 ? '+' : '-'}${Math.abs(perImage).toFixed(1)}`;
  };
  return `
### Where the memory goes today
One \`generateWorksheetImages\` answer holds every image at once, several times over. At ${large} images the server's RSS
grew by ${growth(today)} MiB over idle; from ${small} to ${large} images the peak grew by ${slope(todaySmall, today)} MiB per image (the image
itself is ${(memory.imageBytes / 1024 / 1024).toFixed(2)} MiB). Nothing bounds it but MAX_BATCH_SIZE.
- The job store keeps every image's bytes (${memory.sizes.rawMiB} MiB for ${large}) for JOB_RETENTION_MS (1 h); its only bound is
  JOB_MAX_RETAINED (1,000 jobs), a count, not bytes (external memory after GC: ${today.server.retainedExternalMiB} MiB).
- The \`image\` resolver turns each into a base64 data URL string; all ${memory.sizes.dataUrlsMiB} MiB of them are alive until the
  answer is serialised.
- Yoga serialises the whole result with JSON.stringify into one string of the same size, and encodes it to bytes
  for the socket. The peak heap (${today.server.peakHeapUsedMiB} MiB) is about ${(today.server.peakHeapUsedMiB / memory.sizes.dataUrlsMiB).toFixed(1)} times the data URLs: base64 strings, the
  flattened data URLs, the JSON text and its growth buffers are all alive at the peak.
- After a full GC the process still holds ${today.server.retainedRssMiB} MiB of RSS: V8 keeps the pages it grew into.
The client must hold the ${today.client.receivedMiB} MiB text and the parsed data URLs at once (${today.client.maxRssMiB} MiB peak). Serialising,
sending and parsing one such answer also costs time: the batch took ${today.batchMs !== null ? ms(today.batchMs) : '?'} by the server's stats, the whole call ${ms(today.wallMs)}.

### What keeps it bounded
Two strategies already work with today's API and carry one image per message, so what a message costs is bounded by
the upstream concurrency, not by the batch:
- **generateImage per placeholder, 8 at a time**: nothing is stored, so the server holds only what is in flight:
  peak ${perImageSmall?.server.peakRssMiB} MiB at ${small} images, ${perImage?.server.peakRssMiB} MiB at ${large} (${slope(perImageSmall, perImage)} MiB per extra image); client ${perImage?.client.maxRssMiB} MiB. But the batch
  loses its job, its progress stream and its idempotency key.
- **each image in its own progress event** (startWorksheetImages without images, then generationProgress selecting
  \`image { image }\`): the client holds one data URL at a time (${events?.client.maxRssMiB} MiB peak, largest message ${events?.client.largestMessageMiB} MiB); the server's
  transient memory is bounded, but its job store still keeps every image (peak ${eventsSmall?.server.peakRssMiB} MiB at ${small} images,
  ${events?.server.peakRssMiB} MiB at ${large}: ${slope(eventsSmall, events)} MiB per extra image, about the image itself).
- Not possible today: fetching a job's results a page or one image at a time. \`generationJob(id)\` has no argument
  to choose results, so asking it for \`image\` is the same 100-image answer.

The design that keeps the server bounded without losing the batch (a change in src/, not made by the benchmark):
1. Serve images by reference: \`ImageResult.url\` (e.g. \`/images/{jobId}/{imageId}\`, same auth as /graphql) answered by
   a plain HTTP handler that writes the stored bytes with their content type: 1.5 MB of binary instead of 2 MB of
   base64 inside JSON, no copy on the heap, cacheable, usable as \`<img src>\`.
2. Let clients choose results: \`GenerationJob.results(ids: [ID!], first: Int, after: ID)\`, so a client that wants
   data URLs takes them a page at a time; and document that \`generateWorksheetImages\` with \`image\` selected is
   for small batches (or cap the data-URL bytes of one answer and answer BAD_USER_INPUT past it).
3. Give the job store a byte budget (JOB_MAX_RETAINED_BYTES, evicting the oldest finished jobs' bytes first) or keep
   the bytes on disk / in an object store, so retention is bounded in bytes, not only in jobs.
With 1 and 2 the server's peak is bounded by the upstream concurrency and the page size whatever the batch size, and
with 3 what it retains is bounded too.
`;
}
