import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  /** Everything the process printed on stdout after its first line, and on stderr. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `src/main.ts` as its own process, as `npm start` would, and waits for its first line. */
export async function startServerProcess(environment: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
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
  return { child, url, wsUrl: url.replace(/^http/, 'ws'), output: () => chunks.join(''), exited };
}
