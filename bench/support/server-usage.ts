/**
 * Loaded into the bench server's process (`--import`, before src/main.ts) so that it can report its own CPU time
 * and memory over the IPC channel: answers `usage`, `resetPeak` and `gc` requests from server-child.ts.
 */
import type { ServerRequest, ServerUsage } from './server-child.js';

// Sampling memory costs a little CPU, so only the memory scenario turns it on (BENCH_MEMORY_SAMPLING_MS).
const SAMPLE_INTERVAL_MS = Number(process.env.BENCH_MEMORY_SAMPLING_MS ?? '0');

// resourceUsage().maxRSS is the kernel's peak for the whole life of the process; sampling gives the peaks of one
// phase, and splits them into the JavaScript heap (strings, objects) and memory outside it (Buffers).
let peaks = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
function sample(): void {
  const memory = process.memoryUsage();
  peaks = {
    rss: Math.max(peaks.rss, memory.rss),
    heapUsed: Math.max(peaks.heapUsed, memory.heapUsed),
    external: Math.max(peaks.external, memory.external),
    arrayBuffers: Math.max(peaks.arrayBuffers, memory.arrayBuffers),
  };
}
sample();
if (SAMPLE_INTERVAL_MS > 0) setInterval(sample, SAMPLE_INTERVAL_MS).unref();

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
    sampledPeakRssBytes: peaks.rss,
    peakHeapUsedBytes: peaks.heapUsed,
    peakExternalBytes: peaks.external,
    peakArrayBuffersBytes: peaks.arrayBuffers,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

process.on('message', (raw) => {
  const request = raw as ServerRequest;
  if (request.type === 'resetPeak') peaks = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  if (request.type === 'gc') (globalThis as { gc?: () => void }).gc?.();
  process.send?.({ id: request.id, usage: usage() });
});
// The channel must not keep the server alive once its parent is gone.
process.channel?.unref();
process.on('disconnect', () => process.exit(0));
