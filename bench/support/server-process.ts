/**
 * The server under measurement, alone in its own process so that its CPU time and peak RSS are its own.
 * Started by server-child.ts with `node --expose-gc --import tsx`; configured by the environment like the real server.
 * Talks to its parent over the IPC channel: it sends `ready` with the GraphQL URL, then answers `usage`,
 * `resetPeak`, `gc` and `stop`.
 */
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import type { ServerRequest, ServerUsage } from './server-child.js';

// Sampling memory costs a little CPU, so only the memory scenario turns it on (BENCH_MEMORY_SAMPLING_MS).
const SAMPLE_INTERVAL_MS = Number(process.env.BENCH_MEMORY_SAMPLING_MS ?? '0');

const send = (message: unknown): void => {
  process.send?.(message);
};

const config = parseConfig(process.env);
const app = buildApp(config);
const url = await app.start();

// resourceUsage().maxRSS is the kernel's peak for the whole life of the process; sampling gives the peaks of one
// phase, and splits them into the JavaScript heap (strings, objects) and memory outside it (Buffers).
let sampledPeakRss = 0;
let peakHeapUsed = 0;
let peakExternal = 0;
let peakArrayBuffers = 0;
function sample(): void {
  const memory = process.memoryUsage();
  sampledPeakRss = Math.max(sampledPeakRss, memory.rss);
  peakHeapUsed = Math.max(peakHeapUsed, memory.heapUsed);
  peakExternal = Math.max(peakExternal, memory.external);
  peakArrayBuffers = Math.max(peakArrayBuffers, memory.arrayBuffers);
}
function resetPeaks(): void {
  sampledPeakRss = 0;
  peakHeapUsed = 0;
  peakExternal = 0;
  peakArrayBuffers = 0;
  sample();
}
resetPeaks();
const sampler = SAMPLE_INTERVAL_MS > 0 ? setInterval(sample, SAMPLE_INTERVAL_MS) : undefined;

function usage(): ServerUsage {
  sample();
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    cpuUserMicros: cpu.user,
    cpuSystemMicros: cpu.system,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    sampledPeakRssBytes: sampledPeakRss,
    peakHeapUsedBytes: peakHeapUsed,
    peakExternalBytes: peakExternal,
    peakArrayBuffersBytes: peakArrayBuffers,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

process.on('message', (raw) => {
  const request = raw as ServerRequest;
  switch (request.type) {
    case 'usage':
      send({ id: request.id, type: 'reply', usage: usage() });
      return;
    case 'resetPeak':
      resetPeaks();
      send({ id: request.id, type: 'reply', usage: usage() });
      return;
    case 'gc':
      (globalThis as { gc?: () => void }).gc?.();
      send({ id: request.id, type: 'reply', usage: usage() });
      return;
    case 'stop':
      clearInterval(sampler);
      void app.stop({ graceMs: 1000 }).finally(() => {
        send({ id: request.id, type: 'reply', usage: usage() });
        process.disconnect?.();
        // Pino and undici may keep handles a little longer; the measurement is over.
        setTimeout(() => process.exit(0), 200).unref();
      });
      return;
  }
});
process.on('disconnect', () => process.exit(0));

send({ type: 'ready', url });
