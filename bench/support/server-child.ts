/**
 * The server under measurement: dist/main.js (the compiled server, as `npm start` runs it after `npm run build`)
 * started by the shared launcher (test/support/server-process.ts), alone in its own process so that its CPU time and
 * peak RSS are its own, with server-usage.ts (compiled too) loaded beside it to report them over IPC. The floor server
 * (floor-server.ts) starts the same way. One child per scenario (or per run), so that one measurement never pollutes
 * the next: the limiter's learned concurrency, the job store and the heap all start fresh.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServerProcess } from '../../test/support/server-process.js';
import { compileForNode } from './compile.js';

export interface ServerUsage {
  cpuUserMicros: number;
  cpuSystemMicros: number;
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /** The highest RSS sampled since start or the last resetPeak (every BENCH_MEMORY_SAMPLING_MS; else only when asked). */
  sampledPeakRssBytes: number;
  /** Peaks of heapUsed, external and arrayBuffers, sampled with the RSS. */
  peakHeapUsedBytes: number;
  peakExternalBytes: number;
  peakArrayBuffersBytes: number;
  /** The kernel's peak RSS over the whole life of the process. */
  maxRssBytes: number;
}

export type ServerRequest = { id: number; type: 'usage' | 'resetPeak' | 'gc' | 'profileStart' | 'profileStop' };

export interface ServerChild {
  /** http://127.0.0.1:PORT/graphql */
  url: string;
  /** ws://127.0.0.1:PORT/graphql */
  wsUrl: string;
  pid: number;
  usage(): Promise<ServerUsage>;
  /** Starts a new phase for sampledPeakRssBytes. */
  resetPeak(): Promise<ServerUsage>;
  /** A full garbage collection, then the usage. */
  gc(): Promise<ServerUsage>;
  /**
   * The usage, then (with BENCH_CPU_PROFILE_DIR set) starts a CPU profile in the server; profileStop writes it there
   * and answers the usage read before it stopped. Without the variable both are usage().
   */
  profileStart(): Promise<ServerUsage>;
  profileStop(): Promise<ServerUsage>;
  /** Stops the server (SIGTERM; running jobs get 1 s) and waits for the process to exit. Safe to call twice. */
  stop(): Promise<void>;
  /** What the server printed besides its first line (logs at LOG_LEVEL, which is silent unless overridden). */
  output(): string;
}

export interface ServerChildOptions {
  /** The fake Together's API root and key. */
  upstreamUrl: string;
  apiKey: string;
  /** Further configuration, e.g. GENERATION_CONCURRENCY. */
  environment?: Record<string, string>;
  /** The compiled script to run; the project's dist/main.js unless BENCH_SERVER_ENTRY names another build. */
  entry?: string;
}

const USAGE_REPORTER = fileURLToPath(new URL('./server-usage.ts', import.meta.url));
/** The project's compiled server; BENCH_SERVER_ENTRY may point at another build (an older commit's, to compare). */
export const PROJECT_ENTRY =
  process.env.BENCH_SERVER_ENTRY ?? fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** What every bench server runs with: quiet, on loopback, with no per-caller quota to get in the way of load. */
export function benchServerEnvironment(options: ServerChildOptions): Record<string, string> {
  return {
    LOG_LEVEL: 'silent',
    NODE_ENV: 'development',
    IMAGE_PROVIDER: 'together',
    TOGETHER_API_KEY: options.apiKey,
    TOGETHER_BASE_URL: options.upstreamUrl,
    API_TOKENS: '',
    QUOTA_IMAGES_PER_MINUTE: '0',
    WS_MAX_CONNECTIONS: '10000',
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '100',
    // Every bench client comes from 127.0.0.1: the per-client budgets would refuse the 200 progress subscribers.
    WS_MAX_PENDING_CONNECTIONS: '10000',
    MAX_CONNECTIONS_PER_CLIENT: '10000',
    MAX_WAITING_SUBSCRIPTIONS_PER_CLIENT: '10000',
    SHUTDOWN_GRACE_MS: '1000',
    // Set REDIS_URL when running the benchmarks to measure the replicas' mode (jobs, queue and budget in Redis).
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...options.environment,
  };
}

export async function startServerChild(options: ServerChildOptions): Promise<ServerChild> {
  // BENCH_SERVER_NODE_ARGS passes extra flags to the server's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/profiles".
  const extraArguments = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const reporter = pathToFileURL(await compileForNode(USAGE_REPORTER)).href;
  const server = await startServerProcess(benchServerEnvironment(options), {
    entry: options.entry ?? PROJECT_ENTRY,
    nodeArgs: [...extraArguments, '--expose-gc', '--import', reporter],
    ipc: true,
  });
  const { child } = server;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (usage: ServerUsage) => void; reject: (error: Error) => void }>();
  child.on('message', (raw) => {
    const reply = raw as { id: number; usage: ServerUsage };
    waiting.get(reply.id)?.resolve(reply.usage);
    waiting.delete(reply.id);
  });
  void server.exited.then(({ code }) => {
    waiting.forEach(({ reject }) => reject(new Error(`the bench server exited with code ${code}`)));
    waiting.clear();
  });
  const ask = (type: ServerRequest['type']): Promise<ServerUsage> =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error('the bench server is gone'));
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      child.send({ id, type } satisfies ServerRequest);
    });
  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    wsUrl: server.wsUrl,
    pid: child.pid ?? -1,
    usage: () => ask('usage'),
    resetPeak: () => ask('resetPeak'),
    gc: () => ask('gc'),
    profileStart: () => ask('profileStart'),
    profileStop: () => ask('profileStop'),
    stop() {
      stopping ??= server.stop().then(() => undefined);
      return stopping;
    },
    output: server.output,
  };
}

/** CPU time in milliseconds between two usage readings. */
export function cpuMillisBetween(before: ServerUsage, after: ServerUsage): number {
  return (after.cpuUserMicros - before.cpuUserMicros + after.cpuSystemMicros - before.cpuSystemMicros) / 1000;
}
