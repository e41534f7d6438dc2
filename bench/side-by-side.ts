/**
 * Scenario 2, side by side: the same 10 images on the same fake Together, fetched (a) through this server's GraphQL
 * mutation at its defaults, (b) with the official `together-ai` SDK and Promise.all, (c) one request after another as
 * the seed system did, and (d) with a plain parallel loop of three attempts. Once without pressure, once with the fake
 * answering 429 (retry-after 1 s) whenever K requests are already in flight.
 *
 * Targets: without pressure (a) takes at most 1.10x one latency and is within 5% of (b); under pressure (a) delivers
 * every image within 1.5x of ceil(N / K) * latency while honouring retry-after: once refused, it sends nothing with
 * the key before the upstream's time (a burst sent at one instant before any answer is not held against it, but is
 * counted in the "early" column all the same).
 */
import { startFakeTogether, type FakeTogether } from '../test/support/fake-together.js';
import { type BatchScenarioOptions, ms, type Scenario, table, verdict } from './report.js';
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
import { DEFAULT_CONCURRENCY } from './support/server-defaults.js';
import { median, round } from './support/statistics.js';

/** (a) against one latency, without pressure. */
export const NO_PRESSURE_IDEAL_TARGET = 1.1;
/** (a) against (b), without pressure. */
export const NO_PRESSURE_SDK_TARGET = 1.05;
export const PRESSURE_TARGET = 1.5;

export type ClientName = 'server' | 'sdk' | 'sequential' | 'plain-loop';

export const CLIENT_LABELS: Record<ClientName, string> = {
  server: `(a) this server, GraphQL mutation, at its defaults (GENERATION_CONCURRENCY ${DEFAULT_CONCURRENCY})`,
  sdk: '(b) together-ai SDK, Promise.all, default retries',
  sequential: '(c) one after another, 3 attempts (seed system)',
  'plain-loop': '(d) plain parallel loop, 3 attempts obeying retry-after',
};

export interface SideBySideRow {
  client: ClientName;
  label: string;
  runs: Array<{ wallMs: number; succeeded: number; upstreamRequests: number; upstream429: number; early: number }>;
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
  /** GENERATION_CONCURRENCY of (a): the server's default. */
  concurrency: number;
  phases: SideBySidePhase[];
  targets: {
    noPressure: {
      idealTarget: number;
      sdkTarget: number;
      /** (a) over one latency. */
      ratioToIdeal: number;
      /** (a) over (b). */
      ratioToSdk: number;
      met: boolean;
    };
    pressure: { target: number; boundMs: number; ratio: number; allDelivered: boolean; met: boolean };
  };
}

export interface SideBySideOptions extends BatchScenarioOptions {
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
    const server = await startServerChild({ upstreamUrl: fake.url, apiKey: fake.apiKey });
    try {
      await generateThroughServer(server.url, batchImages(count, 'warm-up'));
      calm.push(await measure('server', count, fake, repetitions, () => generateThroughServer(server.url, images())));
    } finally {
      await server.stop();
    }
    await generateWithSdk(upstream, batchImages(count, 'warm-up sdk'));
    calm.push(await measure('sdk', count, fake, repetitions, () => generateWithSdk(upstream, images())));
    calm.push(await measure('sequential', count, fake, 1, () => generateOneAfterAnother(upstream, images())));
    calm.push(await measure('plain-loop', count, fake, repetitions, () => generateWithPlainLoop(upstream, images())));

    // Under pressure. A fresh server for every run: the limiter must not start from what an earlier run taught it.
    const rateLimit = { maxInFlight, retryAfterSeconds };
    const pressed: SideBySideRow[] = [];
    const freshServerRun = async (): Promise<ClientRun> => {
      fake.setRateLimit(undefined);
      const server: ServerChild = await startServerChild({ upstreamUrl: fake.url, apiKey: fake.apiKey });
      try {
        await generateThroughServer(server.url, batchImages(1, `warm-up ${runIndex}`));
        fake.reset();
        fake.setRateLimit(rateLimit);
        return await generateThroughServer(server.url, images());
      } finally {
        await server.stop();
      }
    };
    pressed.push(await measure('server', count, fake, repetitions, freshServerRun, rateLimit));
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
    const ratioToIdeal = wall(calm, 'server') / latencyMs;
    const ratioToSdk = wall(calm, 'server') / wall(calm, 'sdk');
    const boundMs = Math.ceil(count / maxInFlight) * latencyMs;
    const serverPressed = pressed.find((row) => row.client === 'server');
    const pressureRatio = (serverPressed?.medianWallMs ?? Number.NaN) / boundMs;
    const allDelivered = serverPressed?.worstSuccessRate === 1;
    return {
      scenario: 'side-by-side',
      images: count,
      latencyMs,
      repetitions,
      concurrency: DEFAULT_CONCURRENCY,
      phases,
      targets: {
        noPressure: {
          idealTarget: NO_PRESSURE_IDEAL_TARGET,
          sdkTarget: NO_PRESSURE_SDK_TARGET,
          ratioToIdeal: round(ratioToIdeal, 3),
          ratioToSdk: round(ratioToSdk, 3),
          met: ratioToIdeal <= NO_PRESSURE_IDEAL_TARGET && ratioToSdk <= NO_PRESSURE_SDK_TARGET,
        },
        pressure: {
          target: PRESSURE_TARGET,
          boundMs,
          ratio: round(pressureRatio, 3),
          allDelivered,
          met: allDelivered && pressureRatio <= PRESSURE_TARGET,
        },
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
      early: counters.earlyArrivals,
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
      '>early requests',
    ],
    phase.rows.map((row) => [
      row.label,
      ms(row.medianWallMs),
      row.runs.map((run) => Math.round(run.wallMs)).join(', '),
      row.runs.map((run) => `${run.succeeded}/${side.images}`).join(', '),
      `${Math.round(row.successRate * 100)}%`,
      row.upstreamRequests,
      row.runs.map((run) => run.upstream429).join(', '),
      row.runs.map((run) => run.early).join(', '),
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
    return [
      [
        '2a',
        `no pressure, at the defaults: (a) <= ${calm.idealTarget}x one latency, and within ${Math.round((calm.sdkTarget - 1) * 100)}% of (b), the SDK with Promise.all`,
        `${calm.ratioToIdeal.toFixed(3)}x one latency (GENERATION_CONCURRENCY ${side.concurrency}: ${side.images} images in one round); ${calm.ratioToSdk.toFixed(3)}x the SDK`,
        verdict(calm.met),
      ],
      [
        '2b',
        `429 when > ${limit?.maxInFlight} in flight, retry-after ${limit?.retryAfterSeconds} s, at the defaults: every image, within ${pressure.target}x of ceil(N/K) x latency = ${ms(pressure.boundMs)}, honouring retry-after`,
        `${pressure.allDelivered ? 'every image' : 'images lost'}, ${pressure.ratio.toFixed(3)}x`,
        verdict(pressure.met),
      ],
    ];
  },
  report: (side) => {
    const calm = side.phases.find((phase) => !phase.pressure);
    const pressed = side.phases.find((phase) => phase.pressure);
    const limit = pressed?.rateLimit;
    return `${side.images} images on the same fake: (a) this server through the GraphQL mutation, at its defaults
(GENERATION_CONCURRENCY ${side.concurrency}); (b) the official \`together-ai\` SDK, \`client.images.generate\` per image with
\`Promise.all\` and its default retries (2, honouring retry-after); (c) one request after another, three attempts each
(the seed system's way); (d) every request at once, three attempts each, waiting retry-after. Fake latency
${side.latencyMs} ms; ${side.repetitions} runs each ((c) once, it is deterministic). Each client warms up first; under pressure every run of (a)
gets a freshly started server, so the limiter never starts from what an earlier run taught it. "Early requests" arrived
at the fake before a retry-after it had sent had passed; requests of one burst, sent before any answer came back, count
too.

### Without pressure
${calm ? phaseTable(side, calm) : ''}

### Under rate-limit pressure: 429 with retry-after ${limit?.retryAfterSeconds} s when more than ${limit?.maxInFlight} requests are in flight
Best possible: ceil(${side.images} / ${limit?.maxInFlight}) x ${side.latencyMs} ms = ${ms(pressed?.boundMs ?? 0)}; a client that honours retry-after and starts with a
burst cannot beat retry-after + ceil((${side.images} - ${limit?.maxInFlight}) / ${limit?.maxInFlight}) x ${side.latencyMs} ms.

${pressed ? phaseTable(side, pressed) : ''}

A fixed retry budget loses images here: all requests go out at once, ${limit?.maxInFlight} get through per round, and after three
attempts the rest give up. The server sends its first round at once (it knows nothing of the limit yet), and on the
first 429 it pauses the key until retry-after has passed and lowers its concurrency to what the upstream carried when
it said no; then it goes on at that concurrency, refused images waiting in line without spending attempts.
`;
  },
};
