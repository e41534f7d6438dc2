/**
 * Scenario 1, parallel efficiency: batches of 1, 4, 10 and 50 images through the GraphQL mutation, against the fake
 * Together at 500 ms per image, with the server at its default concurrency. The ideal wall time is
 * ceil(N / C) * latency; the target is a ratio of at most 1.05.
 */
import { startFakeTogether } from '../test/support/fake-together.js';
import { batchImages, generateThroughServer } from './support/clients.js';
import { startServerChild } from './support/server-child.js';
import { DEFAULT_CONCURRENCY } from './support/server-defaults.js';
import { ms, type Scenario, table, verdict } from './report.js';
import { median, round } from './support/statistics.js';

export const PARALLEL_EFFICIENCY_TARGET = 1.05;

export interface ParallelEfficiencyRow {
  images: number;
  idealMs: number;
  /** Client-side wall time of each repetition: from sending the mutation to the last byte of its answer. */
  wallMs: number[];
  medianWallMs: number;
  /** Median wall time over the ideal. */
  ratio: number;
  worstRatio: number;
  /** The server's own stats.durationMs, median. */
  serverDurationMs: number;
  maxUpstreamInFlight: number;
  succeeded: number;
  met: boolean;
}

export interface ParallelEfficiencyResult {
  scenario: 'parallel-efficiency';
  latencyMs: number;
  concurrency: number;
  repetitions: number;
  imageSide: number;
  target: number;
  rows: ParallelEfficiencyRow[];
  met: boolean;
}

export interface ParallelEfficiencyOptions {
  batchSizes?: number[];
  latencyMs?: number;
  concurrency?: number;
  repetitions?: number;
}

export async function runParallelEfficiency(
  options: ParallelEfficiencyOptions = {},
): Promise<ParallelEfficiencyResult> {
  const batchSizes = options.batchSizes ?? [1, 4, 10, 50];
  const latencyMs = options.latencyMs ?? 500;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const repetitions = options.repetitions ?? 5;
  const side = 512;

  const fake = await startFakeTogether({ latencyMs });
  const server = await startServerChild({
    upstreamUrl: fake.url,
    apiKey: fake.apiKey,
    // At the default, nothing is set: the server runs as `npm start` runs it.
    ...(options.concurrency === undefined ? {} : { environment: { GENERATION_CONCURRENCY: String(concurrency) } }),
  });
  const rows: ParallelEfficiencyRow[] = [];
  try {
    // Warm-up: loads the code paths and opens `concurrency` keep-alive connections to the upstream.
    await generateThroughServer(server.url, batchImages(concurrency, 'warm-up', side));
    for (const images of batchSizes) {
      const idealMs = Math.ceil(images / concurrency) * latencyMs;
      const wallMs: number[] = [];
      const durations: number[] = [];
      let maxUpstreamInFlight = 0;
      let succeeded = Number.POSITIVE_INFINITY;
      for (let repetition = 0; repetition < repetitions; repetition += 1) {
        fake.reset();
        const run = await generateThroughServer(
          server.url,
          batchImages(images, `efficiency ${images} run ${repetition}`, side),
        );
        wallMs.push(run.wallMs);
        durations.push(run.job.stats.durationMs);
        maxUpstreamInFlight = Math.max(maxUpstreamInFlight, fake.maxInFlight);
        succeeded = Math.min(succeeded, run.succeeded);
      }
      const medianWallMs = median(wallMs);
      const ratio = medianWallMs / idealMs;
      rows.push({
        images,
        idealMs,
        wallMs: wallMs.map((value) => round(value, 1)),
        medianWallMs: round(medianWallMs, 1),
        ratio: round(ratio, 3),
        worstRatio: round(Math.max(...wallMs) / idealMs, 3),
        serverDurationMs: median(durations),
        maxUpstreamInFlight,
        succeeded,
        met: ratio <= PARALLEL_EFFICIENCY_TARGET && succeeded === images,
      });
      console.log(
        `  parallel efficiency: ${images} images, median ${Math.round(medianWallMs)} ms, ideal ${idealMs} ms, ratio ${ratio.toFixed(3)}`,
      );
    }
  } finally {
    await server.stop();
    await fake.close();
  }
  return {
    scenario: 'parallel-efficiency',
    latencyMs,
    concurrency,
    repetitions,
    imageSide: side,
    target: PARALLEL_EFFICIENCY_TARGET,
    rows,
    met: rows.every((row) => row.met),
  };
}

export const parallelEfficiency: Scenario<ParallelEfficiencyResult> = {
  name: 'parallel',
  title: '1. Parallel efficiency',
  run: () => runParallelEfficiency(),
  targets: (result) => {
    const worst = Math.max(...result.rows.map((row) => row.ratio));
    return [
      [
        '1',
        `wall time / ideal <= ${result.target} for N = ${result.rows.map((row) => row.images).join(', ')} (C = ${result.concurrency}, ${result.latencyMs} ms)`,
        `${result.rows.map((row) => `N=${row.images}: ${row.ratio.toFixed(3)}`).join('; ')} (worst ${worst.toFixed(3)})`,
        verdict(result.met),
      ],
    ];
  },
  report: (
    result,
  ) => `Batches through the \`generateWorksheetImages\` mutation, fake upstream at ${result.latencyMs} ms per image,
GENERATION_CONCURRENCY ${result.concurrency} (the server's default), ${result.imageSide}x${result.imageSide}, ${result.repetitions} runs per size after a warm-up batch. Wall time is the client's:
from sending the mutation to the last byte of its answer. Ideal = ceil(N / C) x latency.

${table(
  [
    '>images',
    '>ideal',
    '>wall time, median',
    'runs',
    '>ratio (median)',
    '>worst run',
    '>server stats.durationMs',
    '>upstream max in flight',
    '>delivered',
  ],
  result.rows.map((row) => [
    row.images,
    ms(row.idealMs),
    ms(row.medianWallMs),
    row.wallMs.map((value) => Math.round(value)).join(', '),
    row.ratio.toFixed(3),
    row.worstRatio.toFixed(3),
    ms(row.serverDurationMs),
    row.maxUpstreamInFlight,
    `${row.succeeded}/${row.images}`,
  ]),
)}
`,
};
