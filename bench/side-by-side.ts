/**
 * Scenario 2, side by side: the same 10 images on the same fake Together, fetched (a) through this server's GraphQL
 * mutation, (b) with the official `together-ai` SDK and Promise.all, (c) one request after another as the seed system
 * did, and (d) with a plain parallel loop of three attempts. Once without pressure, once with the fake answering 429
 * (retry-after 1 s) whenever K requests are already in flight.
 *
 * Targets: without pressure (a) is within 5% of (b); under pressure (a) delivers every image within 10% of
 * ceil(N / K) * latency, the best any client can do against that rate limit. (a) runs at GENERATION_CONCURRENCY 8,
 * the default the public contract names, and at 10, as many slots as the batch has images: the SDK sends all 10 at
 * once with no limit, so only the second is the like-for-like comparison without pressure.
 */
import { startFakeTogether, type FakeTogether } from '../test/support/fake-together.js';
import {
  batchImages,
  generateOneAfterAnother,
  generateThroughServer,
  generateWithPlainLoop,
  generateWithSdk,
  type BatchImage,
  type ClientRun,
} from './support/clients.js';
import { startServerChild, type ServerChild } from './support/server-child.js';
import { ms, type Scenario, table, verdict } from './report.js';
import { median, round } from './support/statistics.js';

export const NO_PRESSURE_TARGET = 1.05;
/** GENERATION_CONCURRENCY's default, fixed by the public contract (README, configuration table). */
export const DEFAULT_CONCURRENCY = 8;
export const PRESSURE_TARGET = 1.1;

export type ClientName = 'server' | 'server-c10' | 'sdk' | 'sequential' | 'plain-loop';

export const CLIENT_LABELS: Record<ClientName, string> = {
  server: '(a) this server, GraphQL mutation (GENERATION_CONCURRENCY 8, the default)',
  'server-c10': "(a') this server, GENERATION_CONCURRENCY 10 (as many slots as images)",
  sdk: '(b) together-ai SDK, Promise.all, default retries',
  sequential: '(c) one after another, 3 attempts (seed system)',
  'plain-loop': '(d) plain parallel loop, 3 attempts obeying retry-after',
};

export interface SideBySideRow {
  client: ClientName;
  label: string;
  runs: Array<{ wallMs: number; succeeded: number; upstreamRequests: number; upstream429: number }>;
  medianWallMs: number;
  /** Images delivered over images asked, worst run. */
  worstSuccessRate: number;
  /** Mean over runs. */
  successRate: number;
  upstreamRequests: number;
}

export interface SideBySidePhase {
  pressure: boolean;
  rateLimit: { maxInFlight: number; retryAfterSeconds: number } | null;
  /** The best wall time any client can reach: one latency without pressure, ceil(N / K) * latency under it. */
  boundMs: number;
  rows: SideBySideRow[];
}

export interface SideBySideResult {
  scenario: 'side-by-side';
  images: number;
  latencyMs: number;
  repetitions: number;
  /** GENERATION_CONCURRENCY of (a) and of (a'). */
  concurrency: { default: number; matched: number };
  phases: SideBySidePhase[];
  targets: {
    noPressure: {
      target: number;
      ratioDefault: number;
      ratioMatchedConcurrency: number;
      metDefault: boolean;
      metMatchedConcurrency: boolean;
    };
    pressure: {
      target: number;
      boundMs: number;
      ratio: number;
      allDelivered: boolean;
      met: boolean;
      /** The same at GENERATION_CONCURRENCY = batch size. */
      ratioMatchedConcurrency: number;
      allDeliveredMatchedConcurrency: boolean;
      metMatchedConcurrency: boolean;
    };
    /** Whether one configuration meets 2a and 2b at once. */
    bothMetDefault: boolean;
    bothMetMatchedConcurrency: boolean;
  };
}

export interface SideBySideOptions {
  images?: number;
  latencyMs?: number;
  repetitions?: number;
  maxInFlight?: number;
  retryAfterSeconds?: number;
}

export async function runSideBySide(options: SideBySideOptions = {}): Promise<SideBySideResult> {
  const count = options.images ?? 10;
  const latencyMs = options.latencyMs ?? 500;
  const repetitions = options.repetitions ?? 3;
  const maxInFlight = options.maxInFlight ?? 2;
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const fake = await startFakeTogether({ latencyMs });
  const upstream = { url: fake.url, apiKey: fake.apiKey };
  let runIndex = 0;
  const images = (): BatchImage[] => batchImages(count, `side by side run ${++runIndex}`);

  try {
    // Without pressure. Each client gets a warm-up call first, so no one pays for connection setup or code loading.
    fake.setRateLimit(undefined);
    const calm: SideBySideRow[] = [];
    for (const [client, concurrency] of [
      ['server', DEFAULT_CONCURRENCY],
      ['server-c10', count],
    ] as const) {
      const server = await startServerChild({
        upstreamUrl: fake.url,
        apiKey: fake.apiKey,
        environment: { GENERATION_CONCURRENCY: String(concurrency) },
      });
      try {
        await generateThroughServer(server.url, batchImages(concurrency, 'warm-up'));
        calm.push(await measure(client, count, fake, repetitions, () => generateThroughServer(server.url, images())));
      } finally {
        await server.stop();
      }
    }
    await generateWithSdk(upstream, batchImages(count, 'warm-up sdk'));
    calm.push(await measure('sdk', count, fake, repetitions, () => generateWithSdk(upstream, images())));
    calm.push(await measure('sequential', count, fake, 1, () => generateOneAfterAnother(upstream, images())));
    calm.push(await measure('plain-loop', count, fake, repetitions, () => generateWithPlainLoop(upstream, images())));

    // Under pressure. A fresh server for every run: the limiter must not start from what an earlier run taught it.
    const rateLimit = { maxInFlight, retryAfterSeconds };
    const pressed: SideBySideRow[] = [];
    const freshServerRun = (concurrency: number) => async (): Promise<ClientRun> => {
      fake.setRateLimit(undefined);
      const server: ServerChild = await startServerChild({
        upstreamUrl: fake.url,
        apiKey: fake.apiKey,
        environment: { GENERATION_CONCURRENCY: String(concurrency) },
      });
      try {
        await generateThroughServer(server.url, batchImages(1, `warm-up ${runIndex}`));
        fake.reset();
        fake.setRateLimit(rateLimit);
        return await generateThroughServer(server.url, images());
      } finally {
        await server.stop();
      }
    };
    pressed.push(await measure('server', count, fake, repetitions, freshServerRun(DEFAULT_CONCURRENCY), rateLimit));
    pressed.push(await measure('server-c10', count, fake, repetitions, freshServerRun(count), rateLimit));
    pressed.push(await measure('sdk', count, fake, repetitions, () => generateWithSdk(upstream, images()), rateLimit));
    pressed.push(
      await measure('sequential', count, fake, 1, () => generateOneAfterAnother(upstream, images()), rateLimit),
    );
    pressed.push(
      await measure('plain-loop', count, fake, repetitions, () => generateWithPlainLoop(upstream, images()), rateLimit),
    );

    const phases: SideBySidePhase[] = [
      { pressure: false, rateLimit: null, boundMs: latencyMs, rows: calm },
      { pressure: true, rateLimit, boundMs: Math.ceil(count / maxInFlight) * latencyMs, rows: pressed },
    ];
    const wall = (rows: SideBySideRow[], client: ClientName) =>
      rows.find((row) => row.client === client)?.medianWallMs ?? Number.NaN;
    const sdkCalm = wall(calm, 'sdk');
    const ratioDefault = wall(calm, 'server') / sdkCalm;
    const ratioMatched = wall(calm, 'server-c10') / sdkCalm;
    const boundMs = Math.ceil(count / maxInFlight) * latencyMs;
    const serverPressed = pressed.find((row) => row.client === 'server');
    const pressureRatio = (serverPressed?.medianWallMs ?? Number.NaN) / boundMs;
    const allDelivered = serverPressed?.worstSuccessRate === 1;
    const matchedPressed = pressed.find((row) => row.client === 'server-c10');
    const matchedPressureRatio = (matchedPressed?.medianWallMs ?? Number.NaN) / boundMs;
    const allDeliveredMatched = matchedPressed?.worstSuccessRate === 1;
    const pressureMet = allDelivered && pressureRatio <= PRESSURE_TARGET;
    const pressureMetMatched = allDeliveredMatched && matchedPressureRatio <= PRESSURE_TARGET;
    return {
      scenario: 'side-by-side',
      images: count,
      latencyMs,
      repetitions,
      concurrency: { default: DEFAULT_CONCURRENCY, matched: count },
      phases,
      targets: {
        noPressure: {
          target: NO_PRESSURE_TARGET,
          ratioDefault: round(ratioDefault, 3),
          ratioMatchedConcurrency: round(ratioMatched, 3),
          metDefault: ratioDefault <= NO_PRESSURE_TARGET,
          metMatchedConcurrency: ratioMatched <= NO_PRESSURE_TARGET,
        },
        pressure: {
          target: PRESSURE_TARGET,
          boundMs,
          ratio: round(pressureRatio, 3),
          allDelivered,
          met: pressureMet,
          ratioMatchedConcurrency: round(matchedPressureRatio, 3),
          allDeliveredMatchedConcurrency: allDeliveredMatched,
          metMatchedConcurrency: pressureMetMatched,
        },
        bothMetDefault: ratioDefault <= NO_PRESSURE_TARGET && pressureMet,
        bothMetMatchedConcurrency: ratioMatched <= NO_PRESSURE_TARGET && pressureMetMatched,
      },
    };
  } finally {
    await fake.close();
  }
}

async function measure(
  client: ClientName,
  asked: number,
  fake: FakeTogether,
  repetitions: number,
  run: () => Promise<ClientRun>,
  rateLimit?: { maxInFlight: number; retryAfterSeconds: number },
): Promise<SideBySideRow> {
  const runs: SideBySideRow['runs'] = [];
  for (let repetition = 0; repetition < repetitions; repetition += 1) {
    fake.reset();
    fake.setRateLimit(rateLimit);
    const result = await run();
    const counters = fake.counters;
    runs.push({
      wallMs: round(result.wallMs, 1),
      succeeded: result.succeeded,
      upstreamRequests: counters.generations,
      upstream429: counters.responsesByStatus[429] ?? 0,
    });
  }
  fake.setRateLimit(undefined);
  const perRunRate = runs.map((entry) => entry.succeeded / asked);
  const row: SideBySideRow = {
    client,
    label: CLIENT_LABELS[client],
    runs,
    medianWallMs: round(median(runs.map((entry) => entry.wallMs)), 1),
    worstSuccessRate: round(Math.min(...perRunRate), 3),
    successRate: round(perRunRate.reduce((sum, rate) => sum + rate, 0) / perRunRate.length, 3),
    upstreamRequests: median(runs.map((entry) => entry.upstreamRequests)),
  };
  console.log(
    `  side by side${rateLimit ? ' (429 pressure)' : ''}: ${client}, median ${Math.round(row.medianWallMs)} ms, ` +
      `delivered ${runs.map((entry) => entry.succeeded).join(', ')} of ${asked}`,
  );
  return row;
}

function phaseTable(side: SideBySideResult, phase: SideBySidePhase): string {
  return table(
    [
      'client',
      '>wall time, median',
      'runs (ms)',
      'delivered per run',
      '>success rate',
      '>upstream requests',
      '>429 answers',
    ],
    phase.rows.map((row) => [
      row.label,
      ms(row.medianWallMs),
      row.runs.map((run) => Math.round(run.wallMs)).join(', '),
      row.runs.map((run) => `${run.succeeded}/${side.images}`).join(', '),
      `${Math.round(row.successRate * 100)}%`,
      row.upstreamRequests,
      row.runs.map((run) => run.upstream429).join(', '),
    ]),
  );
}

export const sideBySide: Scenario<SideBySideResult> = {
  name: 'side-by-side',
  title: '2. Side by side',
  run: () => runSideBySide(),
  targets: (side) => {
    const { noPressure: calm, pressure } = side.targets;
    const limit = side.phases.find((phase) => phase.pressure)?.rateLimit;
    const c = side.concurrency;
    const delivered = (all: boolean) => (all ? 'every image' : 'images lost');
    return [
      [
        '2a',
        `no pressure: (a) within ${Math.round((calm.target - 1) * 100)}% of (b), the SDK with Promise.all`,
        `GENERATION_CONCURRENCY ${c.default} (the default): ${calm.ratioDefault.toFixed(2)}x, ${Math.ceil(side.images / c.default)} rounds of ${side.latencyMs} ms where the SDK sends all ${side.images} at once; ${c.matched} (= batch size): ${calm.ratioMatchedConcurrency.toFixed(3)}x`,
        `${verdict(calm.metDefault)} at the default (${c.default} slots for ${side.images} images); ${verdict(calm.metMatchedConcurrency)} with concurrency >= batch size`,
      ],
      [
        '2b',
        `429 when > ${limit?.maxInFlight} in flight, retry-after ${limit?.retryAfterSeconds} s: every image, within ${Math.round((pressure.target - 1) * 100)}% of ceil(N/K) x latency = ${ms(pressure.boundMs)}`,
        `C = ${c.default}: ${delivered(pressure.allDelivered)}, ${pressure.ratio.toFixed(3)}x; C = ${c.matched}: ${delivered(pressure.allDeliveredMatchedConcurrency)}, ${pressure.ratioMatchedConcurrency.toFixed(3)}x`,
        `${verdict(pressure.met)} at the default; ${verdict(pressure.metMatchedConcurrency)} at C = ${c.matched}${side.targets.bothMetMatchedConcurrency ? ` (C = ${c.matched} meets 2a and 2b at once)` : ''}`,
      ],
    ];
  },
  report: (side) => {
    const calm = side.phases.find((phase) => !phase.pressure);
    const pressed = side.phases.find((phase) => phase.pressure);
    const limit = pressed?.rateLimit;
    return `${side.images} images on the same fake: (a) this server through the GraphQL mutation at GENERATION_CONCURRENCY
${side.concurrency.default} (the default) and (a') ${side.concurrency.matched} (the batch size); (b) the official \`together-ai\` SDK, \`client.images.generate\` per
image with \`Promise.all\` and its default retries (2, honouring retry-after); (c) one request after another, three
attempts each (the seed system's way); (d) every request at once, three attempts each, waiting retry-after. Fake
latency ${side.latencyMs} ms; ${side.repetitions} runs each ((c) once, it is deterministic). Each client warms up first; under pressure every
run of (a) gets a freshly started server, so the limiter never starts from what an earlier run taught it.

### Without pressure
${calm ? phaseTable(side, calm) : ''}

At the default the server sends ${side.concurrency.default} images, then the rest: that is the limit doing its job, not overhead;
the SDK has no limit at all. With as many slots as images (a') it is like for like.

### Under rate-limit pressure: 429 with retry-after ${limit?.retryAfterSeconds} s when more than ${limit?.maxInFlight} requests are in flight
Best possible: ceil(${side.images} / ${limit?.maxInFlight}) x ${side.latencyMs} ms = ${ms(pressed?.boundMs ?? 0)}.

${pressed ? phaseTable(side, pressed) : ''}

A fixed retry budget loses images here: all requests go out at once, ${limit?.maxInFlight} get through per round, and after three
attempts the rest give up. The server's limiter lowers its concurrency to what the upstream carried when it said no,
and puts an image refused while others are in flight straight back in line (at most 4 times) instead of sleeping
retry-after, so it starts as soon as a slot frees.
`;
  },
};
