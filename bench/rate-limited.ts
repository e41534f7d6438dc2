/**
 * Scenario 5, a rate-limited key. The fake Together answers as a token bucket (5 images/s, burst 5, 500 ms per image,
 * 429 with retry-after in whole seconds until the next token, x-ratelimit-* on every answer), and 30 images are asked
 * for at once. No client can beat (N - burst) / rate + latency = 5.5 s.
 *
 * Clients: (a) this server at its defaults, warm (it has answered one image before, so it has read the headers once),
 * (a') the same server cold (its very first request meets the bucket), and (b) the together-ai SDK with Promise.all.
 * Reported per client: wall / bound, images delivered, 429s, and requests that arrived before a retry-after the
 * upstream had sent had passed ("early"; a burst sent at one instant counts, so a cold start shows some).
 *
 * Targets for (a): 30/30 within 1.10x of the bound, at most 3 refusals, no early request.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { startFakeTogether, type FakeTogether, type FakeTokenBucket } from '../test/support/fake-together.js';
import { type BatchScenarioOptions, ms, type Scenario, table, verdict } from './report.js';
import { batchImages, type ClientRun, generateThroughServer, generateWithSdk } from './support/clients.js';
import { startServerChild } from './support/server-child.js';
import { DEFAULT_CONCURRENCY } from './support/server-defaults.js';
import { median, round } from './support/statistics.js';

export const RATE_LIMITED_TARGETS = { ratio: 1.1, maxRefusals: 3, maxEarly: 0 } as const;

export type RateLimitedClient = 'server' | 'server-cold' | 'sdk';

export const RATE_LIMITED_LABELS: Record<RateLimitedClient, string> = {
  server: `(a) this server at its defaults (GENERATION_CONCURRENCY ${DEFAULT_CONCURRENCY}), warm`,
  'server-cold': "(a') the same, at its first contact with the key",
  sdk: '(b) together-ai SDK, Promise.all, default retries',
};

export interface RateLimitedRun {
  wallMs: number;
  delivered: number;
  upstreamRequests: number;
  refusals: number;
  early: number;
}

export interface RateLimitedRow {
  client: RateLimitedClient;
  label: string;
  runs: RateLimitedRun[];
  medianWallMs: number;
  /** Median wall time over the bound. */
  ratio: number;
  /** Worst run. */
  delivered: number;
  refusals: number;
  early: number;
}

export interface RateLimitedResult {
  scenario: 'rate-limited';
  images: number;
  latencyMs: number;
  bucket: { ratePerSecond: number; burst: number };
  boundMs: number;
  repetitions: number;
  rows: RateLimitedRow[];
  targets: typeof RATE_LIMITED_TARGETS & { met: boolean };
}

export interface RateLimitedOptions extends BatchScenarioOptions {
  ratePerSecond?: number;
  burst?: number;
}

export async function runRateLimited(options: RateLimitedOptions = {}): Promise<RateLimitedResult> {
  const images = options.images ?? 30;
  const latencyMs = options.latencyMs ?? 500;
  const bucket: FakeTokenBucket = { ratePerSecond: options.ratePerSecond ?? 5, burst: options.burst ?? 5 };
  const repetitions = options.repetitions ?? 3;
  const boundMs = ((images - bucket.burst) / bucket.ratePerSecond) * 1000 + latencyMs;
  const fake = await startFakeTogether({ latencyMs, tokenBucket: bucket });
  // The bucket refills completely in burst / rate; a little more so that no run starts on a partly empty one.
  const refill = () => delay((bucket.burst / bucket.ratePerSecond) * 1000 + 200);
  let runIndex = 0;
  const batch = () => batchImages(images, `rate limited run ${++runIndex}`);

  try {
    const rows: RateLimitedRow[] = [];
    const serverRun = (warm: boolean) => async (): Promise<ClientRun> => {
      // A fresh server per run: what one run taught the limiter must not help the next.
      const server = await startServerChild({ upstreamUrl: fake.url, apiKey: fake.apiKey });
      try {
        if (warm) {
          await generateThroughServer(server.url, batchImages(1, `warm-up ${runIndex}`));
          await refill();
        }
        fake.reset();
        return await generateThroughServer(server.url, batch());
      } finally {
        await server.stop();
      }
    };
    rows.push(await measure('server', fake, repetitions, boundMs, images, serverRun(true)));
    rows.push(await measure('server-cold', fake, repetitions, boundMs, images, serverRun(false)));
    rows.push(
      await measure('sdk', fake, repetitions, boundMs, images, async () => {
        await refill();
        fake.reset();
        return generateWithSdk({ url: fake.url, apiKey: fake.apiKey }, batch());
      }),
    );
    const server = rows[0] as RateLimitedRow;
    return {
      scenario: 'rate-limited',
      images,
      latencyMs,
      bucket: { ratePerSecond: bucket.ratePerSecond, burst: bucket.burst },
      boundMs,
      repetitions,
      rows,
      targets: {
        ...RATE_LIMITED_TARGETS,
        met:
          server.delivered === images &&
          server.ratio <= RATE_LIMITED_TARGETS.ratio &&
          server.refusals <= RATE_LIMITED_TARGETS.maxRefusals &&
          server.early <= RATE_LIMITED_TARGETS.maxEarly,
      },
    };
  } finally {
    await fake.close();
  }
}

async function measure(
  client: RateLimitedClient,
  fake: FakeTogether,
  repetitions: number,
  boundMs: number,
  images: number,
  run: () => Promise<ClientRun>,
): Promise<RateLimitedRow> {
  const runs: RateLimitedRun[] = [];
  for (let repetition = 0; repetition < repetitions; repetition += 1) {
    const result = await run();
    const counters = fake.counters;
    runs.push({
      wallMs: round(result.wallMs, 1),
      delivered: result.succeeded,
      upstreamRequests: counters.generations,
      refusals: counters.responsesByStatus[429] ?? 0,
      early: counters.earlyArrivals,
    });
  }
  const medianWallMs = round(median(runs.map((entry) => entry.wallMs)), 1);
  const row: RateLimitedRow = {
    client,
    label: RATE_LIMITED_LABELS[client],
    runs,
    medianWallMs,
    ratio: round(medianWallMs / boundMs, 3),
    delivered: Math.min(...runs.map((entry) => entry.delivered)),
    refusals: Math.max(...runs.map((entry) => entry.refusals)),
    early: Math.max(...runs.map((entry) => entry.early)),
  };
  console.log(
    `  rate limited: ${client}, median ${Math.round(medianWallMs)} ms (${row.ratio}x the bound), delivered ` +
      `${runs.map((entry) => entry.delivered).join(', ')} of ${images}, 429s ${runs.map((entry) => entry.refusals).join(', ')}, ` +
      `early ${runs.map((entry) => entry.early).join(', ')}`,
  );
  return row;
}

export const rateLimited: Scenario<RateLimitedResult> = {
  name: 'rate-limited',
  title: '5. A rate-limited key',
  run: () => runRateLimited(),
  targets: (result) => {
    const server = result.rows.find((row) => row.client === 'server');
    const t = result.targets;
    return [
      [
        '5',
        `token bucket ${result.bucket.ratePerSecond}/s, burst ${result.bucket.burst}, ${result.images} images, at the defaults: all delivered within ${t.ratio}x of ${ms(result.boundMs)}, at most ${t.maxRefusals} 429s, ${t.maxEarly} requests before retry-after allowed`,
        server
          ? `${server.delivered}/${result.images}, ${server.ratio.toFixed(3)}x, ${server.refusals} 429s (worst run), ${server.early} early`
          : 'not run',
        verdict(t.met),
      ],
    ];
  },
  report: (
    result,
  ) => `${result.images} images asked for at once from a key the fake limits as a token bucket: ${result.bucket.ratePerSecond} images/s, burst
${result.bucket.burst}, ${result.latencyMs} ms per image, 429 at once when the bucket is empty with \`retry-after\` in whole seconds until the next
token, and \`x-ratelimit-limit\` / \`-remaining\` / \`-reset\` on every answer. No client can beat (N - burst) / rate + latency =
${ms(result.boundMs)}. (a) is a fresh server per run at its defaults that has generated one image before (so it has read the headers
once) and waited for the bucket to refill; (a') is a fresh server whose first requests are the batch; (b) is the SDK
with \`Promise.all\` and its default retries. ${result.repetitions} runs each. "Early" requests arrived before a retry-after the fake had
sent had passed; those of one burst sent before any answer came back count too.

${table(
  [
    'client',
    '>wall time, median',
    '>x bound',
    'runs (ms)',
    'delivered per run',
    '>429s per run',
    '>early per run',
    '>upstream requests per run',
  ],
  result.rows.map((row) => [
    row.label,
    ms(row.medianWallMs),
    row.ratio.toFixed(3),
    row.runs.map((run) => Math.round(run.wallMs)).join(', '),
    row.runs.map((run) => `${run.delivered}/${result.images}`).join(', '),
    row.runs.map((run) => run.refusals).join(', '),
    row.runs.map((run) => run.early).join(', '),
    row.runs.map((run) => run.upstreamRequests).join(', '),
  ]),
)}

The server reads the rate from the headers (\`limit - remaining\` requests come back in \`reset\`) and paces to 95% of it
from a bucket as large as \`x-ratelimit-limit\`, so the upstream rarely has to refuse; after a 429 nothing goes out with
the key before retry-after has passed. At its first contact it knows nothing yet: its first round (up to
GENERATION_CONCURRENCY requests) goes out at once, the refusals teach it the rate and pause it, and it paces from then
on. The SDK sends everything at once and gives up on an image after three attempts.
`,
};
