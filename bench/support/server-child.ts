/**
 * Starts the real server (src/app.ts) in a child process pointed at a fake Together, and asks it for its CPU time
 * and memory. One child per scenario (or per run), so that one measurement never pollutes the next: the limiter's
 * learned concurrency, the job store and the heap all start fresh.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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

export type ServerRequest = { id: number; type: 'usage' | 'resetPeak' | 'gc' | 'stop' };

type ServerMessage = { type: 'ready'; url: string } | { id: number; type: 'reply'; usage: ServerUsage };

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
  /** Stops the server (jobs get 1 s) and waits for the process to exit. Safe to call twice. */
  stop(): Promise<void>;
}

export interface ServerChildOptions {
  /** The fake Together's API root and key. */
  upstreamUrl: string;
  apiKey: string;
  /** Further configuration, e.g. GENERATION_CONCURRENCY. */
  environment?: Record<string, string>;
  startTimeoutMs?: number;
}

const ENTRY = fileURLToPath(new URL('./server-process.ts', import.meta.url));

/** What every bench server runs with: quiet, on loopback, with no per-caller quota to get in the way of load. */
export function benchServerEnvironment(options: ServerChildOptions): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    NODE_ENV: 'development',
    IMAGE_PROVIDER: 'together',
    TOGETHER_API_KEY: options.apiKey,
    TOGETHER_BASE_URL: options.upstreamUrl,
    API_TOKENS: '',
    QUOTA_IMAGES_PER_MINUTE: '0',
    WS_MAX_CONNECTIONS: '10000',
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '100',
    ...options.environment,
  };
}

export async function startServerChild(options: ServerChildOptions): Promise<ServerChild> {
  // BENCH_SERVER_NODE_ARGS passes extra flags to the server's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/profiles".
  const extraArguments = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...extraArguments, '--expose-gc', '--import', 'tsx', ENTRY], {
    env: { ...process.env, ...benchServerEnvironment(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const waiting = new Map<number, { resolve: (usage: ServerUsage) => void; reject: (error: Error) => void }>();
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      waiting.forEach(({ reject }) => reject(new Error(`the bench server exited with code ${code}`)));
      waiting.clear();
      resolve();
    }),
  );

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the bench server did not start in time'));
    }, options.startTimeoutMs ?? 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the bench server exited with code ${code} before it was ready`));
    });
    child.on('message', (raw) => {
      const message = raw as ServerMessage;
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.url);
      } else if (message.type === 'reply') {
        waiting.get(message.id)?.resolve(message.usage);
        waiting.delete(message.id);
      }
    });
  });

  const ask = (type: ServerRequest['type']): Promise<ServerUsage> =>
    new Promise((resolve, reject) => {
      if (!child.connected) {
        reject(new Error('the bench server is gone'));
        return;
      }
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      child.send({ id, type } satisfies ServerRequest);
    });

  let stopping: Promise<void> | undefined;
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    pid: child.pid ?? -1,
    usage: () => ask('usage'),
    resetPeak: () => ask('resetPeak'),
    gc: () => ask('gc'),
    stop() {
      stopping ??= (async () => {
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        if (child.connected) await ask('stop').catch(() => undefined);
        await exited;
        clearTimeout(killer);
      })();
      return stopping;
    },
  };
}

/** CPU time in milliseconds between two usage readings. */
export function cpuMillisBetween(before: ServerUsage, after: ServerUsage): number {
  return (after.cpuUserMicros - before.cpuUserMicros + after.cpuSystemMicros - before.cpuSystemMicros) / 1000;
}
