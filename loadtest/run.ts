/**
 * `npm run loadtest`: a bounded load of WebSocket subscribers following concurrent batches, the server in its own
 * process with the fake Together API on 127.0.0.1 as its upstream. It is the server overhead benchmark's progress
 * measurement (bench/server-overhead.ts) run with several jobs at once for a fixed time. Reports errors (must be 0),
 * progress-event latency from the upstream's answer to the subscriber, and the server's peak RSS; exits 1 on errors.
 *
 * Options (environment): LOAD_SUBSCRIBERS (200), LOAD_BATCHES (10 concurrent), LOAD_BATCH_SIZE (10),
 * LOAD_DURATION_MS (20000), LOAD_UPSTREAM_LATENCY_MS (100).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { measureProgress } from '../bench/server-overhead.js';
import { buildProject } from '../bench/support/compile.js';

const setting = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const settings = {
  subscribers: setting('LOAD_SUBSCRIBERS', 200),
  jobsAtOnce: setting('LOAD_BATCHES', 10),
  imagesPerRound: setting('LOAD_BATCH_SIZE', 10),
  durationMs: setting('LOAD_DURATION_MS', 20_000),
  upstreamLatencyMs: setting('LOAD_UPSTREAM_LATENCY_MS', 100),
  generationConcurrency: 16,
};

// The server runs compiled, as `npm start` runs it.
buildProject();
const result = { date: new Date().toISOString(), ...(await measureProgress(settings)) };
mkdirSync('loadtest/results', { recursive: true });
writeFileSync('loadtest/results/latest.json', `${JSON.stringify(result, null, 2)}\n`);
console.log(
  [
    `subscribers ${result.subscribers}, concurrent batches ${settings.jobsAtOnce} x ${settings.imagesPerRound} images, ` +
      `${settings.durationMs / 1000} s, upstream latency ${settings.upstreamLatencyMs} ms`,
    `jobs ${result.rounds}, images ${result.rounds * result.imagesPerRound} (${result.imagesPerSecond}/s)`,
    `errors ${result.errors}${result.errors ? `: ${result.firstErrors.join(' | ')}` : ''}, missing events ${result.missingEvents}`,
    `event latency p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms (${result.samples} samples)`,
    `server peak RSS ${result.serverPeakRssMiB} MiB`,
  ].join('\n'),
);
process.exit(result.errors === 0 && result.missingEvents === 0 ? 0 : 1);
