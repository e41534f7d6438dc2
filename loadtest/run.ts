/**
 * `npm run loadtest`: a bounded load of WebSocket subscribers and concurrent batches against the server, which runs
 * as its own process (so its peak RSS is its own) with the fake Together API on 127.0.0.1 as its upstream.
 * Reports errors (must be 0), progress-event latency p50/p99 from the upstream's answer to the subscriber, and the
 * server's peak RSS. Everything stops by itself after the configured duration.
 *
 * Options (environment): LOAD_SUBSCRIBERS (200), LOAD_BATCHES (10 concurrent), LOAD_BATCH_SIZE (10),
 * LOAD_DURATION_MS (20000), LOAD_UPSTREAM_LATENCY_MS (100).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { FAKE_TOGETHER_API_KEY, startFakeTogether } from '../test/support/fake-together.js';

const setting = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const subscribersTotal = setting('LOAD_SUBSCRIBERS', 200);
const batches = setting('LOAD_BATCHES', 10);
const batchSize = setting('LOAD_BATCH_SIZE', 10);
const durationMs = setting('LOAD_DURATION_MS', 20_000);
const upstreamLatencyMs = setting('LOAD_UPSTREAM_LATENCY_MS', 100);

const answeredAt = new Map<string, number>();
const fake = await startFakeTogether({
  latencyMs: (request) => {
    answeredAt.set(request.prompt, performance.now() + upstreamLatencyMs);
    return upstreamLatencyMs;
  },
});

const server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
  env: {
    ...process.env,
    PORT: '0',
    TOGETHER_API_KEY: FAKE_TOGETHER_API_KEY,
    TOGETHER_BASE_URL: fake.url,
    LOG_LEVEL: 'warn',
    QUOTA_IMAGES_PER_MINUTE: '0',
    GENERATION_CONCURRENCY: '16',
    WS_MAX_CONNECTIONS: String(subscribersTotal + 100),
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((resolve, reject) => {
  const lines = createInterface({ input: server.stdout! });
  lines.once('line', (line) => {
    const match = /listening on (\S+)/.exec(line);
    if (match?.[1]) resolve(match[1]);
    else reject(new Error(`unexpected first line: ${line}`));
  });
  server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});
const wsUrl = url.replace(/^http/, 'ws');

let peakRssKiB = 0;
const rssPoll = setInterval(() => {
  try {
    const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    if (hwm?.[1]) peakRssKiB = Math.max(peakRssKiB, Number(hwm[1]));
  } catch {
    // The process may be gone at the very end.
  }
}, 250);

const errors: string[] = [];
const latencies: number[] = [];
let imagesDone = 0;
let jobsDone = 0;

const subscribersPerBatch = Math.max(1, Math.floor(subscribersTotal / batches));
const clients: Client[] = Array.from({ length: subscribersPerBatch * batches }, () =>
  createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: (error) => errors.push(`ws: ${String(error)}`),
  }),
);

const SUBSCRIPTION = `subscription($jobId: ID!) { generationProgress(jobId: $jobId) { sequence done image { id status } } }`;
const START = `mutation($input: GenerateWorksheetImagesInput!) { startWorksheetImages(input: $input) { id } }`;

function follow(client: Client, jobId: string, prompts: Map<string, string>, countLatency: boolean): Promise<void> {
  return new Promise((resolve) => {
    let lastSequence = 0;
    client.subscribe<{
      generationProgress: { sequence: number; done: boolean; image: { id: string; status: string } | null };
    }>(
      { query: SUBSCRIPTION, variables: { jobId } },
      {
        next: ({ data, errors: graphQLErrors }) => {
          if (graphQLErrors?.length) errors.push(`subscription: ${graphQLErrors[0]?.message}`);
          const event = data?.generationProgress;
          if (!event) return;
          if (event.sequence !== lastSequence + 1) errors.push(`gap in ${jobId}: ${lastSequence} -> ${event.sequence}`);
          lastSequence = event.sequence;
          if (event.image?.status === 'SUCCEEDED' && countLatency) {
            const answered = answeredAt.get(prompts.get(event.image.id) ?? '');
            if (answered !== undefined) latencies.push(performance.now() - answered);
          }
          if (event.image?.status === 'FAILED' || event.image?.status === 'CANCELLED')
            errors.push(`image ${event.image.status}`);
        },
        error: (error) => {
          errors.push(`subscription error: ${JSON.stringify(error)}`);
          resolve();
        },
        complete: () => resolve(),
      },
    );
  });
}

async function worker(index: number, deadline: number): Promise<void> {
  const own = clients.slice(index * subscribersPerBatch, (index + 1) * subscribersPerBatch);
  let round = 0;
  while (performance.now() < deadline) {
    const jobId = `load-${index}-${round++}`;
    const prompts = new Map<string, string>();
    const images = Array.from({ length: batchSize }, (_, image) => {
      const prompt = `${jobId} picture ${image}`;
      prompts.set(`0-${image}`, prompt);
      return { id: `0-${image}`, prompt, width: 256, height: 256 };
    });
    const following = own.map((client) => follow(client, jobId, prompts, true));
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: START, variables: { input: { jobId, images } } }),
    });
    const body = (await response.json()) as { errors?: Array<{ message: string }> };
    if (response.status !== 200 || body.errors)
      errors.push(`start: ${response.status} ${body.errors?.[0]?.message ?? ''}`);
    await Promise.all(following);
    imagesDone += batchSize;
    jobsDone += 1;
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: batches }, (_, index) => worker(index, started + durationMs)));
const elapsedMs = performance.now() - started;

await Promise.all(clients.map((client) => client.dispose()));
clearInterval(rssPoll);
server.kill('SIGTERM');
const exitCode = await new Promise<number | null>((resolve) => server.once('exit', resolve));
await fake.close();

latencies.sort((a, b) => a - b);
const percentile = (p: number) =>
  latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]! : NaN;
const result = {
  date: new Date().toISOString(),
  settings: { subscribers: clients.length, concurrentBatches: batches, batchSize, durationMs, upstreamLatencyMs },
  jobs: jobsDone,
  images: imagesDone,
  imagesPerSecond: Number((imagesDone / (elapsedMs / 1000)).toFixed(1)),
  errors: errors.length,
  firstErrors: errors.slice(0, 5),
  eventLatencyMs: {
    p50: Number(percentile(50).toFixed(1)),
    p99: Number(percentile(99).toFixed(1)),
    samples: latencies.length,
  },
  serverPeakRssMiB: Number((peakRssKiB / 1024).toFixed(1)),
  serverExitCode: exitCode,
};
mkdirSync('loadtest/results', { recursive: true });
writeFileSync('loadtest/results/latest.json', `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  `${[
    `subscribers ${result.settings.subscribers}, concurrent batches ${batches} x ${batchSize} images, ${durationMs / 1000} s, upstream latency ${upstreamLatencyMs} ms`,
    `jobs ${jobsDone}, images ${imagesDone} (${result.imagesPerSecond}/s)`,
    `errors ${result.errors}${result.errors ? `: ${result.firstErrors.join(' | ')}` : ''}`,
    `event latency p50 ${result.eventLatencyMs.p50} ms, p99 ${result.eventLatencyMs.p99} ms (${latencies.length} samples)`,
    `server peak RSS ${result.serverPeakRssMiB} MiB, exit code ${exitCode}`,
  ].join('\n')}\n`,
);
process.exit(result.errors === 0 && exitCode === 0 ? 0 : 1);
