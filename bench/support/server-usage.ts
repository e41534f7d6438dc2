/**
 * Loaded into the bench server's process (`--import`, before src/main.ts) so that it can report its own CPU time
 * and memory over the IPC channel: answers `usage`, `resetPeak` and `gc` requests from server-child.ts.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
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

// BENCH_CPU_PROFILE_DIR: a CPU profile of the measured window only (profileStart to profileStop), without the start-up
// and warm-up that --cpu-prof would mix in.
const PROFILE_DIRECTORY = process.env.BENCH_CPU_PROFILE_DIR;
let profiler: Session | undefined;
function post(session: Session, method: string): Promise<unknown> {
  return new Promise((resolve, reject) =>
    session.post(method, (error, result) => (error ? reject(error) : resolve(result))),
  );
}
async function profile(type: 'profileStart' | 'profileStop'): Promise<void> {
  if (!PROFILE_DIRECTORY) return;
  if (type === 'profileStart') {
    profiler = new Session();
    profiler.connect();
    await post(profiler, 'Profiler.enable');
    await post(profiler, 'Profiler.start');
    return;
  }
  if (!profiler) return;
  const { profile } = (await post(profiler, 'Profiler.stop')) as { profile: unknown };
  profiler.disconnect();
  profiler = undefined;
  writeFileSync(join(PROFILE_DIRECTORY, `window-${process.pid}-${Date.now()}.cpuprofile`), JSON.stringify(profile));
}

process.on('message', (raw) => {
  const request = raw as ServerRequest;
  if (request.type === 'resetPeak') peaks = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  if (request.type === 'gc') (globalThis as { gc?: () => void }).gc?.();
  // CPU is read before the profiler starts and after it stops, so that its own work stays out of the figures.
  const reading = usage();
  const reply = () => process.send?.({ id: request.id, usage: reading });
  if (request.type === 'profileStart' || request.type === 'profileStop') void profile(request.type).finally(reply);
  else reply();
});
// The channel must not keep the server alive once its parent is gone.
process.channel?.unref();
process.on('disconnect', () => process.exit(0));
