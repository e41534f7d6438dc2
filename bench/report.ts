/**
 * Writes the results: one JSON file per scenario in bench/results/, the chart beside them, and docs/benchmarks.md
 * with the machine, how to reproduce, a table per scenario and what the figures mean. Scenarios not run this time
 * are taken from their last JSON file, so `npm run bench -- --only memory` refreshes one part of the page.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, release, totalmem, type } from 'node:os';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.js';
import { median } from './support/statistics.js';
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
    const c = side.concurrency;
    const rounds = Math.ceil(side.images / c.default);
    rows.push(
      `| 2a | no pressure: (a) within ${Math.round((calm.target - 1) * 100)}% of (b), the SDK with Promise.all | ` +
        `GENERATION_CONCURRENCY ${c.default} (the default the contract names): ${calm.ratioDefault.toFixed(2)}x, ${rounds} rounds of ${side.latencyMs} ms where the SDK, with no limit, sends all ${side.images} at once; ` +
        `${c.matched} (= batch size): ${calm.ratioMatchedConcurrency.toFixed(3)}x | ` +
        `${yes(calm.metDefault)} at the default (${c.default} slots for ${side.images} images); ${yes(calm.metMatchedConcurrency)} with concurrency >= batch size |`,
    );
    rows.push(
      `| 2b | 429 when > ${limit?.maxInFlight} in flight, retry-after ${limit?.retryAfterSeconds} s: every image, within ${Math.round((pressure.target - 1) * 100)}% of ceil(N/K) x latency = ${ms(pressure.boundMs)} | ` +
        `C = ${c.default}: ${delivered(pressure.allDelivered)}, ${pressure.ratio.toFixed(3)}x; C = ${c.matched}: ${delivered(pressure.allDeliveredMatchedConcurrency)}, ${pressure.ratioMatchedConcurrency.toFixed(3)}x | ` +
        `${yes(pressure.met)} at the default; ${yes(pressure.metMatchedConcurrency)} at C = ${c.matched}` +
        `${side.targets.bothMetMatchedConcurrency ? ` (C = ${c.matched} meets 2a and 2b at once)` : ''} |`,
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
    const f = memoryFigures(memory);
    const worst = f.worst;
    const url = f.url;
    const retention = memory.retention;
    const measured = [
      worst.large
        ? `one answer with every data URL (worst case): server peak ${worst.small?.server.peakRssMiB} MiB at ${f.small} images, ${worst.large.server.peakRssMiB} MiB at ${f.large} ` +
          `(idle ${worst.large.server.idleRssMiB}, ${worst.slope} MiB per image); client ${worst.small?.client.maxRssMiB} / ${worst.large.client.maxRssMiB} MiB`
        : '',
      url.large
        ? `urls, then GET 8 at a time, one data URL at a time (recommended): server peak ${url.small?.server.peakRssMiB} / ${url.large.server.peakRssMiB} MiB (${url.slope} MiB per image), ` +
          `client ${url.small?.client.maxRssMiB} / ${url.large.client.maxRssMiB} MiB, largest message ${url.large.client.largestMessageMiB} MiB`
        : '',
      retention
        ? `stored bytes after ${retention.batches.length} batches of ${retention.imagesPerBatch} in a row: ${retention.batches.map((batch) => batch.storedMiB).join(', ')} MiB ` +
          `(JOB_MAX_RETAINED_BYTES ${retention.budgetMiB} MiB), RSS after GC ${retention.batches.at(-1)?.retainedRssMiB} MiB`
        : '',
    ].filter(Boolean);
    const verdicts = [
      `${f.worstGrows ? '**not bounded**' : '**bounded**'} for one answer with data URLs (the contract's worst case, up to MAX_BATCH_SIZE)`,
      url.large
        ? `${f.urlBounded ? '**bounded**' : '**not bounded**'} in transit with urls (largest message one image; the client keeps no image past its hand-over); the server still grows by the stored bytes, ` +
          `${f.capHeld === undefined ? 'byte budget not measured' : f.capHeld ? `**capped** across jobs by the byte budget` : '**over** the byte budget'}`
        : '',
    ].filter(Boolean);
    rows.push(
      `| 4 | memory for ${memory.images} images of ~${(memory.imageBytes / 1e6).toFixed(1)} MB as data URLs: find the design that keeps it bounded | ` +
        `${measured.join('; ')} | ${verdicts.join('; ')} |`,
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
npm run bench                          # all four scenarios, about 3 to 4 minutes on 2 cores
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
    const c = side.concurrency;
    const rounds = Math.ceil(side.images / c.default);
    const pressure = side.targets.pressure;
    const median429 = (phase: typeof pressed, client: string) =>
      median(phase?.rows.find((row) => row.client === client)?.runs.map((run) => run.upstream429) ?? []);
    sections.push(`## 2. Side by side: ${side.images} images on the same fake
(a) this server through the GraphQL mutation, at GENERATION_CONCURRENCY ${side.concurrency.default} (the default) and (a') ${side.concurrency.matched} (the batch size); (b) the official \`together-ai\` SDK, \`client.images.generate\` for each
image with \`Promise.all\` and its default retries (2 retries, honouring retry-after); (c) one request after another,
three attempts each (the seed system's way); (d) every request at once, three attempts each, waiting retry-after.
Fake latency ${side.latencyMs} ms; ${side.repetitions} runs each ((c) once, it is deterministic). Each client warms up first; under
pressure every run of (a) gets a freshly started server, so the limiter never starts from what an earlier run taught it.

### Without pressure
${calm ? table(calm) : ''}

GENERATION_CONCURRENCY ${c.default} is the default the public contract names (README, configuration), so (a) runs with it:
the server sends ${c.default} images, then ${side.images - c.default}: ${rounds} rounds of ${side.latencyMs} ms where the SDK, which sends all ${side.images} at once with no limit at
all, needs one (${side.targets.noPressure.ratioDefault.toFixed(2)}x). That is the limit doing its job, not overhead: with as many slots as images (a', C = ${c.matched}) the
server takes ${side.targets.noPressure.ratioMatchedConcurrency.toFixed(3)}x the SDK's time, so 2a is ${side.targets.noPressure.metMatchedConcurrency ? 'met' : 'missed'} whenever GENERATION_CONCURRENCY is at least the batch size,
and ${side.targets.noPressure.metDefault ? 'also' : 'not'} at the default for batches larger than ${c.default}.

### Under rate-limit pressure: 429 with retry-after ${pressed?.rateLimit?.retryAfterSeconds} s when more than ${pressed?.rateLimit?.maxInFlight} requests are in flight
Best possible: ceil(${side.images} / ${pressed?.rateLimit?.maxInFlight}) x ${side.latencyMs} ms = ${ms(pressed?.boundMs ?? 0)}.

${pressed ? table(pressed) : ''}

A fixed retry budget loses images here: all requests go out at once, ${pressed?.rateLimit?.maxInFlight} get through per round, and after three
attempts the rest give up. The server loses ${pressure.allDelivered && pressure.allDeliveredMatchedConcurrency ? 'none' : 'some'}: a 429 lowers the limiter's concurrency to what the upstream
carried when it said no, and a 429 that comes back while other requests are still in flight puts the image straight
back in the limiter's line (at most 4 times per image) instead of sleeping retry-after, so it starts as soon as a slot
frees; only an image refused with nothing else in flight, or refused a fifth time, waits retry-after (without spending
an attempt). At the default (C = ${c.default}) the first ${c.default} go out, the upstream takes ${pressed?.rateLimit?.maxInFlight}, and the refused ones wait in line with the
${side.images - c.default} never sent: ${pressure.ratio.toFixed(3)}x the bound (${median429(pressed, 'server')} answers 429 per run). At C = ${c.matched} the whole batch goes out at once, the
upstream takes ${pressed?.rateLimit?.maxInFlight} and refuses the other ${side.images - (pressed?.rateLimit?.maxInFlight ?? 0)}, which then run as the accepted ones finish: ${pressure.ratioMatchedConcurrency.toFixed(3)}x (${median429(pressed, 'server-c10')} answers 429 per run). 2b is ${pressure.met ? 'met' : 'missed'} at the default and
${pressure.metMatchedConcurrency ? 'met' : 'missed'} at C = ${c.matched}; ${side.targets.bothMetMatchedConcurrency ? `so with GENERATION_CONCURRENCY >= the batch size the server meets 2a and 2b at once` : `no configuration measured here meets 2a and 2b at once`}.
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
At ${t.cpuMsPerImage} ms of server CPU per image, one core's worth of CPU carries about ${Math.round(1000 / t.cpuMsPerImage)} images/s. The server process used
${t.serverCpuCores} cores here (its CPU time counts V8's garbage-collector and libuv threads besides the one event loop), hence the
measured ${t.imagesPerSecond} images/s; on 2 shared cores both figures depend on what else runs (see the load average above). Real images (1.5 MB each) cost far more:
see section 4.
`);
  }

  const memory = all.memory?.result;
  if (memory) {
    sections.push(`## 4. Memory: batches of ${memory.side}x${memory.side} images at ~${(memory.imageBytes / 1e6).toFixed(1)} MB each (incompressible JPEG) as data URLs
The server and each client run in fresh processes of their own; fake latency ${memory.latencyMs} ms, GENERATION_CONCURRENCY
${memory.generationConcurrency}. Server RSS sampled every 10 ms (and the kernel's maxRSS); the client's peak is its process's maxRSS.
Idle RSS includes tsx, the in-process TypeScript loader the benchmark runs the server with. "Client keeps after GC" is
the client's JavaScript heap plus external memory after a full GC at the end, while it still holds what it keeps: its
peak RSS also depends on how late V8 collects what was handed on.
${memory.images} images weigh ${memory.sizes.rawMiB} MiB as bytes and ${memory.sizes.dataUrlsMiB} MiB as data URLs. Each strategy runs at ${memory.batchSizes.join(' and ')}
images, to see whether the peak grows with the batch; every one of them hands its caller data URLs, one per image.
No API_TOKENS in the bench; with tokens, the image urls take the same bearer token as /graphql.

| strategy | images | delivered | wall time | server idle RSS | server peak RSS | peak heap | peak external | RSS after GC | external after GC (stored image bytes) | client peak RSS (at start) | client keeps after GC | client received | largest message |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${memory.rows
  .map(
    (row) =>
      `| ${row.label} | ${row.images} | ${row.delivered} | ${ms(row.wallMs)}${row.batchMs !== null ? ` (batch ${ms(row.batchMs)})` : ''} | ${row.server.idleRssMiB} MiB | **${row.server.peakRssMiB} MiB** | ${row.server.peakHeapUsedMiB} MiB | ${row.server.peakExternalMiB} MiB | ${row.server.retainedRssMiB} MiB | ${row.server.retainedExternalMiB} MiB | **${row.client.maxRssMiB} MiB** (${row.client.startRssMiB ?? '?'}) | ${row.client.keptAfterGcMiB ?? '?'} MiB | ${row.client.receivedMiB} MiB | ${row.client.largestMessageMiB} MiB |`,
  )
  .join('\n')}
${memoryFindings(memory)}`);
  }
  return `${sections.join('\n')}`;
}

type MemoryRowOf = MemoryResult['rows'][number];

interface StrategyFigures {
  small: MemoryRowOf | undefined;
  large: MemoryRowOf | undefined;
  /** Server peak RSS per extra image from the small batch to the large one, MiB, signed text. */
  slope: string;
  slopeMiB: number;
  clientSlopeMiB: number;
  /** What the client still holds after a GC, per extra image: near 0 when it keeps no image. */
  clientKeptSlopeMiB: number;
  storedSlopeMiB: number;
}

/** The figures the summary table and the findings share, with the verdicts they imply. */
function memoryFigures(memory: MemoryResult) {
  const small = Math.min(...memory.batchSizes);
  const large = memory.images;
  const imageMiB = memory.imageBytes / 1024 / 1024;
  const strategy = (name: string): StrategyFigures => {
    const a = memory.rows.find((row) => row.strategy === name && row.images === small);
    const b = memory.rows.find((row) => row.strategy === name && row.images === large);
    const per = (pick: (row: MemoryRowOf) => number) =>
      a && b && b.images !== a.images ? (pick(b) - pick(a)) / (b.images - a.images) : Number.NaN;
    const slopeMiB = per((row) => row.server.peakRssMiB);
    return {
      small: a,
      large: b,
      slopeMiB,
      slope: Number.isNaN(slopeMiB) ? '?' : `${slopeMiB >= 0 ? '+' : '-'}${Math.abs(slopeMiB).toFixed(1)}`,
      clientSlopeMiB: per((row) => row.client.maxRssMiB),
      clientKeptSlopeMiB: per((row) => row.client.keptAfterGcMiB ?? Number.NaN),
      storedSlopeMiB: per((row) => row.server.retainedExternalMiB),
    };
  };
  const worst = strategy('single-response');
  const url = strategy('url-fetch');
  const retention = memory.retention;
  const storedMax = retention ? Math.max(...retention.batches.map((batch) => batch.storedMiB)) : Number.NaN;
  return {
    small,
    large,
    imageMiB,
    worst,
    url,
    events: strategy('subscription-per-image'),
    perImage: strategy('image-per-mutation'),
    /** Grows by more than an image's bytes per image: it holds every image, more than once. */
    worstGrows: !(worst.slopeMiB <= imageMiB),
    /** No message above about one image, and what the client holds after a GC does not grow by images: it keeps none. */
    urlBounded:
      url.large !== undefined &&
      url.large.client.largestMessageMiB <= 1.5 * imageMiB &&
      (Number.isNaN(url.clientKeptSlopeMiB) ? url.clientSlopeMiB : url.clientKeptSlopeMiB) < imageMiB / 10,
    storedMax,
    capHeld: retention ? storedMax <= retention.budgetMiB : undefined,
  };
}

function memoryFindings(memory: MemoryResult): string {
  const f = memoryFigures(memory);
  const { small, large } = f;
  const oneAnswer = f.worst.large;
  if (!oneAnswer) return '';
  const mib = (value: number) => `${value >= 0 ? '+' : '-'}${Math.abs(value).toFixed(1)} MiB`;
  const imageMiB = f.imageMiB.toFixed(2);
  const dataUrlMiB = (memory.sizes.dataUrlsMiB / memory.images).toFixed(2);
  const sections: string[] = [];
  sections.push(`
### The contract's worst case: one answer with every data URL
The contract still lets \`generateWorksheetImages\` select \`image\` for a whole batch, so this row stays as the worst
case. Its answer holds every image at once, several times over. At ${large} images the server's RSS grew by
${Math.round(oneAnswer.server.peakRssMiB - oneAnswer.server.idleRssMiB)} MiB over idle; from ${small} to ${large} images the peak grew by ${f.worst.slope} MiB per image (the image itself is ${imageMiB} MiB).
Nothing bounds it but MAX_BATCH_SIZE.
- The \`image\` resolver turns each stored image into a base64 data URL string; all ${memory.sizes.dataUrlsMiB} MiB of them are alive until
  the answer is serialised.
- Yoga serialises the whole result with JSON.stringify into one string of the same size, and encodes it to bytes
  for the socket. The peak heap (${oneAnswer.server.peakHeapUsedMiB} MiB) is about ${(oneAnswer.server.peakHeapUsedMiB / memory.sizes.dataUrlsMiB).toFixed(1)} times the data URLs: base64 strings, the
  flattened data URLs, the JSON text and its growth buffers are all alive at the peak.
- After a full GC the process still holds ${oneAnswer.server.retainedRssMiB} MiB of RSS: V8 keeps the pages it grew into.
The client must hold the ${oneAnswer.client.receivedMiB} MiB text and the parsed data URLs at once (${oneAnswer.client.maxRssMiB} MiB peak). Serialising,
sending and parsing one such answer also costs time: the batch took ${oneAnswer.batchMs !== null ? ms(oneAnswer.batchMs) : '?'} by the server's stats, the whole call ${ms(oneAnswer.wallMs)}.
`);

  const url = f.url;
  if (url.large) {
    const u = url.large;
    sections.push(`### The recommended design: urls in the answer, each image fetched by its url
The mutation selects \`results { id status url mimeType }\`, no data URLs: its answer for ${large} images is ${u.client.answerKiB ?? '?'} KiB
(${oneAnswer.client.receivedMiB} MiB with data URLs). The client then GETs each image's url (\`/images/<jobId>/<id>\`, relative to the server),
8 at a time, and turns each body into a data URL one at a time: built, handed on, dropped. The image route writes the
job's stored Buffer as it is, with its MIME type: ${imageMiB} MiB of binary per image instead of ${dataUrlMiB} MiB of base64 inside JSON,
and no copy on the server's heap.
- Server: peak ${url.small?.server.peakRssMiB} MiB at ${small} images, ${u.server.peakRssMiB} MiB at ${large} (idle ${u.server.idleRssMiB}; peak heap ${u.server.peakHeapUsedMiB} MiB against ${oneAnswer.server.peakHeapUsedMiB} MiB
  for the one answer), ${url.slope} MiB per extra image against ${f.worst.slope} MiB. What still grows is the job store's copy of the
  bytes, not the transfer: external memory after GC ${url.small?.server.retainedExternalMiB} / ${u.server.retainedExternalMiB} MiB (${mib(url.storedSlopeMiB)} per image, the image itself).
- Client: peak RSS ${url.small?.client.maxRssMiB} / ${u.client.maxRssMiB} MiB (at start ${u.client.startRssMiB} MiB), ${mib(url.clientSlopeMiB)} per extra image, against ${oneAnswer.client.maxRssMiB} MiB for the one
  answer; largest message ${u.client.largestMessageMiB} MiB, one image. At most 8 bodies and one data URL are alive by construction; after a
  full GC at the end it holds ${url.small?.client.keptAfterGcMiB ?? '?'} / ${u.client.keptAfterGcMiB ?? '?'} MiB (${mib(url.clientKeptSlopeMiB)} per image; the one-answer client: ${oneAnswer.client.keptAfterGcMiB ?? '?'} MiB),
  so ${f.urlBounded ? 'the growth of its peak is V8 collecting the handed-over data URLs late, not images kept' : 'it does keep images: check the client'}.
- Time: ${ms(u.wallMs)} for the whole call (batch ${u.batchMs !== null ? ms(u.batchMs) : '?'}) against ${ms(oneAnswer.wallMs)}: no ${memory.sizes.dataUrlsMiB} MiB JSON text to build and parse.
So what one message, one request and the client cost is ${f.urlBounded ? "bounded by the image size and the client's 8 GETs, whatever the batch size" : 'not yet bounded in this run'}.
`);
  }

  const retention = memory.retention;
  if (retention) {
    const last = retention.batches.at(-1);
    const firstEvicted = retention.batches.find((batch) => batch.firstBatchImageStatus === 404);
    sections.push(`### What still grows: the bytes each job stores, capped by the byte budget
Every finished job keeps its images' bytes (${imageMiB} MiB each, ${retention.batchMiB} MiB for ${retention.imagesPerBatch} images) for JOB_RETENTION_MS (1 h), so that its
urls, \`generationJob\` and late progress subscribers can still get them. The job store now counts those bytes:
JOB_MAX_RETAINED_BYTES (default ${retention.budgetMiB} MiB) evicts the oldest finished jobs first, besides JOB_MAX_RETAINED (1,000 jobs).
Measured on one server with the defaults: ${retention.batches.length} batches of ${retention.imagesPerBatch} in a row, each asking for urls only; after each, two full GCs,
then the memory kept and a HEAD on the first batch's first url (idle: RSS ${retention.idleRssMiB} MiB, external ${retention.idleExternalMiB} MiB).

| after batch | delivered | stored image bytes (external over idle) | RSS after GC | first batch's first image |
| ---: | ---: | ---: | ---: | --- |
${retention.batches.map((batch) => `| ${batch.batch} | ${batch.delivered}/${retention.imagesPerBatch} | ${batch.storedMiB} MiB | ${batch.retainedRssMiB} MiB | HTTP ${batch.firstBatchImageStatus} |`).join('\n')}

The stored bytes rise by one batch's worth each time (${retention.batchMiB} MiB computed) ${
      firstEvicted
        ? `until the next batch would pass ${retention.budgetMiB} MiB: finishing batch ${firstEvicted.batch} evicted batch 1 (its url now answers 404), and from then
on they stay at ${last?.storedMiB} MiB, ${f.capHeld ? 'within' : 'above'} the budget.`
        : `and stay ${f.capHeld ? 'within' : 'above'} the budget (${f.storedMax} MiB at most; no eviction was needed in ${retention.batches.length} batches).`
    } RSS after GC ${firstEvicted ? 'levels off too, at' : 'reaches'} ${last?.retainedRssMiB} MiB, ${
      last ? Math.round(last.retainedRssMiB - retention.idleRssMiB) : '?'
    } MiB over idle for ${last?.storedMiB} MiB stored: the allocator and V8 keep
the pages the batches grew into, so the footprint stops growing but sits above idle + stored bytes. The budget counts finished jobs only: a running job holds its bytes
outside it (up to MAX_BATCH_SIZE x the image size), and the newest finished job is kept whatever its size, so what the
store retains is at most the larger of the budget and the newest job, plus the running jobs.
`);
  }

  const events = f.events;
  const perImage = f.perImage;
  sections.push(`### The other strategies that carry one image per message
- **generateImage per placeholder, 8 at a time**: nothing is stored, so the server holds only what is in flight:
  peak ${perImage.small?.server.peakRssMiB} MiB at ${small} images, ${perImage.large?.server.peakRssMiB} MiB at ${large} (${perImage.slope} MiB per extra image); client ${perImage.large?.client.maxRssMiB} MiB. But the batch
  loses its job, its progress stream and its idempotency key.
- **each image in its own progress event** (startWorksheetImages without images, then generationProgress selecting
  \`image { image }\`): the client holds one data URL at a time (${events.large?.client.maxRssMiB} MiB peak, largest message ${events.large?.client.largestMessageMiB} MiB); the
  server's job store keeps every image as with urls (peak ${events.small?.server.peakRssMiB} MiB at ${small} images, ${events.large?.server.peakRssMiB} MiB at ${large}:
  ${events.slope} MiB per extra image), but the images travel as base64 inside WebSocket frames.
- Results paging (\`GenerationJob.results(first, after)\`) is not in the API; with urls it is not needed for size, the
  url answer for ${large} images being ${url.large?.client.answerKiB ?? '?'} KiB.
`);
  return sections.join('\n');
}
