/**
 * The one way tests, benchmarks and the load test start the server as a child process: `src/main.ts` under
 * `node --import tsx`, or a compiled entry (dist/main.js, as `npm start` runs it after the build) for the benchmarks,
 * told apart only by the environment and extra node flags.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  /** Everything the process printed on stdout after its first line, and on stderr. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful shutdown, SHUTDOWN_GRACE_MS), SIGKILL after `killAfterMs`; resolves once it has exited. */
  stop: (killAfterMs?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ServerProcessOptions {
  /** Node flags after `--import tsx`, e.g. `--expose-gc` or `--import` of a module that measures the process. */
  nodeArgs?: readonly string[];
  /**
   * A compiled script to run instead of src/main.ts, without tsx: dist/main.js after `npm run build` (as `npm start`
   * runs it), or another server that prints the same first line. The benchmarks measure the compiled server.
   */
  entry?: string;
  /** Opens an IPC channel (`process.send` in the child) for such a module. */
  ipc?: boolean;
}

/** Starts the server on 127.0.0.1, port 0, and waits for its first line, `listening on <url>`. */
export async function startServerProcess(
  environment: Record<string, string>,
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const command = options.entry
    ? [...(options.nodeArgs ?? []), options.entry]
    : ['--import', 'tsx', ...(options.nodeArgs ?? []), MAIN];
  // REDIS_URL in the suite's environment says where Redis tests may go; a server joins it only when a test says so.
  const { REDIS_URL: _suiteRedis, ...inherited } = process.env;
  const child = spawn(process.execPath, command, {
    env: { ...inherited, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...environment },
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
  });
  const chunks: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    let first = true;
    lines.on('line', (line) => {
      if (first) {
        first = false;
        const match = /^listening on (\S+)$/.exec(line);
        if (match?.[1]) resolve(match[1]);
        else reject(new Error(`unexpected first line: ${line}`));
        return;
      }
      chunks.push(`${line}\n`);
    });
    void exited.then(({ code }) => reject(new Error(`server exited with ${code}: ${chunks.join('')}`)));
  });
  const stop = async (killAfterMs = 10_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    const outcome = await exited;
    clearTimeout(killer);
    return outcome;
  };
  return { child, url, wsUrl: url.replace(/^http/, 'ws'), output: () => chunks.join(''), exited, stop };
}
