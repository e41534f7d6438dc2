import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../src/providers/provider-error.js';
import type { ImageProvider } from '../src/providers/types.js';
import type { Worksheet } from '../src/worksheet/worksheet.js';
import { createGatedProvider } from './support/gated-provider.js';
import { isPng, tinyPng } from './support/test-images.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'worksheet-images.js');
// Each run starts a Node process that compiles the TypeScript through tsx; a loaded machine needs room.
const CLI_TIMEOUT_MS = 60_000;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunningCli {
  /** Resolves once stderr contains the text. */
  waitForStderr(text: string): Promise<void>;
  interrupt(): void;
  done: Promise<CliRun>;
}

/** The real executable as a user runs it, always from source (a stale dist/ must not decide a test). */
function startCli(args: string[], environment: Record<string, string> = {}): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, WORKSHEET_IMAGES_FROM_SOURCE: '1', WORKSHEET_IMAGES_TOKEN: '', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: Array<() => void> = [];
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    watchers.splice(0).forEach((watch) => watch());
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    waitForStderr: (text) =>
      new Promise((resolve) => {
        const check = () => (stderr.includes(text) ? resolve() : watchers.push(check));
        check();
      }),
    interrupt: () => child.kill('SIGINT'),
    done,
  };
}

const runCli = (args: string[], environment?: Record<string, string>) => startCli(args, environment).done;

/** Two pages, three placeholders, a text element and an image that already has its picture. */
function twoPageWorksheet(): Worksheet {
  return {
    title: 'Animals',
    pages: [
      {
        elements: [
          { type: 'text', text: 'Name the animals', x: 10 },
          { type: 'image', prompt: 'A friendly cat', width: 256, height: 192, x: 10, y: 60 },
          { type: 'image', prompt: 'A red kite', width: 200, height: 200 },
        ],
      },
      {
        elements: [
          { type: 'image', prompt: 'A drawn already', width: 64, height: 64, src: 'existing.png' },
          { type: 'image', prompt: 'A bird on a branch', width: 320, height: 240, seed: 7 },
        ],
      },
    ],
  };
}

let workDir: string;
const directories: string[] = [];

function freshDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'worksheet-images-cli-'));
  directories.push(directory);
  return directory;
}

function writeInput(content: string | Worksheet, name = 'worksheet.json'): string {
  const file = join(workDir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function readOutput(outDir: string): Worksheet {
  return JSON.parse(readFileSync(join(outDir, 'worksheet.json'), 'utf8')) as Worksheet;
}

/** The element at "<page>-<element>". */
function element(worksheet: Worksheet, id: string): Record<string, unknown> {
  const [page, index] = id.split('-').map(Number);
  return worksheet.pages[page!]!.elements[index!] as Record<string, unknown>;
}

function expectOneLineError(run: CliRun, code: number, pattern: RegExp): void {
  const lines = run.stderr.split('\n').filter((line) => line.length > 0);
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^worksheet-images: /);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.code).toBe(code);
}

/** Checks the three placeholders became PNG files named after them and worksheet.json refers to them by name. */
function expectIllustrated(outDir: string): void {
  expect(readdirSync(outDir).sort()).toEqual(['0-1.png', '0-2.png', '1-1.png', 'worksheet.json']);
  for (const name of ['0-1.png', '0-2.png', '1-1.png']) expect(isPng(readFileSync(join(outDir, name)))).toBe(true);
  const written = readOutput(outDir);
  expect(element(written, '0-1')).toMatchObject({ src: '0-1.png', prompt: 'A friendly cat', x: 10, y: 60 });
  expect(element(written, '0-2')).toMatchObject({ src: '0-2.png' });
  expect(element(written, '1-1')).toMatchObject({ src: '1-1.png', seed: 7 });
  expect(element(written, '0-0')).toEqual({ type: 'text', text: 'Name the animals', x: 10 });
  expect(element(written, '1-0')).toMatchObject({ src: 'existing.png' });
  expect(written.title).toBe('Animals');
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

beforeAll(() => {
  workDir = freshDirectory();
});

afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

describe('worksheet-images generate, in process on the embedded provider', () => {
  it('writes one PNG per placeholder and worksheet.json whose src names the files', {
    timeout: CLI_TIMEOUT_MS,
  }, async () => {
    const outDir = join(freshDirectory(), 'out');
    const run = await runCli(['generate', writeInput(twoPageWorksheet()), '--out', outDir]);

    expect(run.code, run.stderr).toBe(0);
    expectIllustrated(outDir);
    expect(run.stdout).toMatch(/succeeded: 3 of 3/);
    expect(run.stdout).toMatch(/duration: +\d/);
    // stderr is not a terminal here: plain progress lines, ending with every image done.
    expect(run.stderr).toMatch(/^progress 3\/3$/m);
  });

  it('keeps data URLs in worksheet.json with --embed, and still writes the files', {
    timeout: CLI_TIMEOUT_MS,
  }, async () => {
    const outDir = freshDirectory();
    const run = await runCli(['generate', writeInput(twoPageWorksheet()), '-o', outDir, '--embed']);

    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(outDir)).toHaveLength(4);
    const written = readOutput(outDir);
    for (const id of ['0-1', '0-2', '1-1']) expect(element(written, id).src).toMatch(/^data:image\/png;base64,/);
  });

  it('says there is nothing to do, names the near misses and shows a placeholder, exit 4, writing nothing', {
    timeout: CLI_TIMEOUT_MS,
  }, async () => {
    const outDir = join(freshDirectory(), 'out');
    const worksheet = {
      pages: [
        {
          elements: [
            { type: 'text', text: 'Nothing to draw' },
            { type: 'image-placeholder', prompt: 'A cat', width: 256, height: 256 },
          ],
        },
      ],
    };
    const run = await runCli(['generate', writeInput(worksheet, 'other-type.json'), '--out', outDir]);

    expectOneLineError(run, 4, /nothing to do in .*other-type\.json: /);
    expect(run.stderr).toContain('0-1 has "type": "image-placeholder", which is not "image"');
    expect(run.stderr).toContain('A placeholder is an element like { "type": "image", "prompt": ');
    expect(run.stdout).toBe('');
    expect(() => readdirSync(outDir)).toThrow();
  });

  it('says every placeholder already has its picture, exit 4', { timeout: CLI_TIMEOUT_MS }, async () => {
    const worksheet = {
      pages: [{ elements: [{ type: 'image', prompt: 'A cat', width: 64, height: 64, src: 'a.png' }] }],
    };
    const run = await runCli(['generate', writeInput(worksheet, 'done.json'), '--out', freshDirectory()]);

    expectOneLineError(run, 4, /Every picture placeholder already has its picture \("src"\): 1 of them/);
  });
});

describe('worksheet-images generate, on a server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('writes one PNG per placeholder and worksheet.json whose src names the files', {
    timeout: CLI_TIMEOUT_MS,
  }, async () => {
    const outDir = freshDirectory();
    const run = await runCli(['generate', writeInput(twoPageWorksheet()), '--out', outDir, '--url', server.url]);

    expect(run.code, run.stderr).toBe(0);
    expectIllustrated(outDir);
    expect(run.stdout).toMatch(/succeeded: 3 of 3/);
  });

  it('reports bad input from the server as one line naming the worksheet field, exit 1', {
    timeout: CLI_TIMEOUT_MS,
  }, async () => {
    const worksheet = twoPageWorksheet();
    (worksheet.pages[1]!.elements[1] as { width: number }).width = 5000;
    const run = await runCli([
      'generate',
      writeInput(worksheet, 'too-wide.json'),
      '-o',
      freshDirectory(),
      '--url',
      server.url,
    ]);

    expectOneLineError(run, 1, /bad input: pages\[1\]\.elements\[1\]\.width: .*1792/);
  });
});

describe('worksheet-images generate, when some images fail', () => {
  let server: TestServer;
  beforeAll(async () => {
    const provider: ImageProvider = {
      name: 'local',
      placeholder: true,
      async generate(request) {
        if (request.prompt.includes('kite')) {
          throw new ProviderError('The prompt was flagged by the safety filter', {
            code: 'CONTENT_FLAGGED',
            retryable: false,
            reason: 'flagged',
          });
        }
        return { mimeType: 'image/png', bytes: tinyPng(request.prompt) };
      },
      async close() {},
    };
    server = await startTestServer({}, { provider });
  });
  afterAll(() => server.close());

  it('writes the others, records imageError, lists the reason and exits 3', { timeout: CLI_TIMEOUT_MS }, async () => {
    const outDir = freshDirectory();
    const run = await runCli(['generate', writeInput(twoPageWorksheet()), '--out', outDir, '--url', server.url]);

    expect(run.code, run.stderr).toBe(3);
    expect(readdirSync(outDir).sort()).toEqual(['0-1.png', '1-1.png', 'worksheet.json']);
    const written = readOutput(outDir);
    expect(element(written, '0-2')).toMatchObject({ imageError: { code: 'CONTENT_FLAGGED' } });
    expect(element(written, '0-2').src).toBeUndefined();
    expect(run.stdout).toMatch(/succeeded: 2 of 3/);
    expect(run.stdout).toMatch(/0-2 "A red kite": CONTENT_FLAGGED: The prompt was flagged/);
  });
});

describe('worksheet-images generate, interrupted with Ctrl-C', () => {
  const provider = createGatedProvider();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { provider });
  });
  afterAll(() => server.close());

  it('cancels the job on the server, writes what was done and exits 130', { timeout: CLI_TIMEOUT_MS }, async () => {
    const outDir = freshDirectory();
    const cli = startCli(['generate', writeInput(twoPageWorksheet()), '--out', outDir, '--url', server.url]);
    await provider.whenWaiting(3);
    provider.release(1);
    await cli.waitForStderr('progress 1/3');
    cli.interrupt();
    const run = await cli.done;

    expect(run.code, run.stderr).toBe(130);
    const files = readdirSync(outDir);
    expect(files.filter((name) => name.endsWith('.png'))).toHaveLength(1);
    const written = readOutput(outDir);
    const cancelled = ['0-1', '0-2', '1-1'].filter(
      (id) => (element(written, id).imageError as { code?: string } | null)?.code === 'CANCELLED',
    );
    expect(cancelled).toHaveLength(2);
    expect(run.stdout).toMatch(/cancelled: 2/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('worksheet-images generate, on a server that requires access tokens', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ API_TOKENS: 'a-valid-token' });
  });
  afterAll(() => server.close());

  it('sends --token and generates', { timeout: CLI_TIMEOUT_MS }, async () => {
    const outDir = freshDirectory();
    const run = await runCli([
      'generate',
      writeInput(twoPageWorksheet()),
      '-o',
      outDir,
      '-u',
      server.url,
      '-t',
      'a-valid-token',
    ]);

    expect(run.code, run.stderr).toBe(0);
    expectIllustrated(outDir);
  });

  it('takes the token from WORKSHEET_IMAGES_TOKEN when --token is not given', { timeout: CLI_TIMEOUT_MS }, async () => {
    const outDir = freshDirectory();
    const run = await runCli(['generate', writeInput(twoPageWorksheet()), '-o', outDir, '-u', server.url], {
      WORKSHEET_IMAGES_TOKEN: 'a-valid-token',
    });

    expect(run.code, run.stderr).toBe(0);
  });

  it('says a token is needed when none is given, exit 1', { timeout: CLI_TIMEOUT_MS }, async () => {
    const run = await runCli(['generate', writeInput(twoPageWorksheet()), '-o', freshDirectory(), '-u', server.url]);

    expectOneLineError(run, 1, /needs an access token: pass --token/);
  });

  it('says the token was refused when it is wrong, exit 1', { timeout: CLI_TIMEOUT_MS }, async () => {
    const run = await runCli([
      'generate',
      writeInput(twoPageWorksheet()),
      '-o',
      freshDirectory(),
      '-u',
      server.url,
      '-t',
      'wrong',
    ]);

    expectOneLineError(run, 1, /refused the access token: Invalid access token/);
    expect(run.stderr).not.toContain('wrong');
  });
});

describe('worksheet-images errors: one line on stderr, no stack trace, the documented exit code', () => {
  it('a missing file exits 1', { timeout: CLI_TIMEOUT_MS }, async () => {
    const run = await runCli(['generate', join(workDir, 'no-such-file.json'), '--out', freshDirectory()]);
    expectOneLineError(run, 1, /cannot read .*no-such-file\.json: no such file/);
  });

  it('malformed JSON exits 1', { timeout: CLI_TIMEOUT_MS }, async () => {
    const run = await runCli(['generate', writeInput('{"pages": [', 'broken.json'), '--out', freshDirectory()]);
    expectOneLineError(run, 1, /broken\.json is not valid JSON/);
  });

  it('JSON that is not a worksheet exits 1, naming the field', { timeout: CLI_TIMEOUT_MS }, async () => {
    const run = await runCli([
      'generate',
      writeInput('{"pages": {"elements": []}}', 'shape.json'),
      '--out',
      freshDirectory(),
    ]);
    expectOneLineError(run, 1, /shape\.json is not a worksheet .*pages: .*expected array/);
  });

  it('an image element without a width exits 1, naming the field', { timeout: CLI_TIMEOUT_MS }, async () => {
    const worksheet = { pages: [{ elements: [{ type: 'image', prompt: 'A cat', height: 64 }] }] };
    const run = await runCli([
      'generate',
      writeInput(JSON.stringify(worksheet), 'no-width.json'),
      '--out',
      freshDirectory(),
    ]);
    expectOneLineError(run, 1, /pages\[0\]\.elements\[0\]\.width/);
  });

  it('bad input in process exits 1, naming the worksheet field and the limit', {
    timeout: CLI_TIMEOUT_MS,
  }, async () => {
    const worksheet = twoPageWorksheet();
    (worksheet.pages[0]!.elements[2] as { height: number }).height = 9000;
    const run = await runCli(['generate', writeInput(worksheet, 'too-tall.json'), '--out', freshDirectory()]);
    expectOneLineError(run, 1, /bad input: pages\[0\]\.elements\[2\]\.height: .*1792/);
  });

  it('an unreachable server exits 1', { timeout: CLI_TIMEOUT_MS }, async () => {
    const url = `http://127.0.0.1:${await closedPort()}/graphql`;
    const run = await runCli(['generate', writeInput(twoPageWorksheet()), '--out', freshDirectory(), '--url', url]);
    expectOneLineError(run, 1, /cannot reach the server at http:\/\/127\.0\.0\.1:\d+\/graphql \(ECONNREFUSED\)/);
  });

  it('an output directory that cannot be made exits 1 before anything is generated', {
    timeout: CLI_TIMEOUT_MS,
  }, async () => {
    const blocker = writeInput('not a directory', 'blocker');
    const run = await runCli(['generate', writeInput(twoPageWorksheet()), '--out', join(blocker, 'out')]);
    expectOneLineError(run, 1, /cannot create the output directory/);
  });

  it.each([
    [['generate'], /missing the worksheet file/],
    [['generate', 'worksheet.json'], /missing --out/],
    [['make', 'worksheet.json', '--out', 'x'], /unknown command "make"/],
    [['generate', 'worksheet.json', '--out', 'x', '--colour'], /unknown option --colour/],
    [['generate', 'worksheet.json', '--out'], /--out needs a value/],
    [['generate', 'worksheet.json', '--out', 'x', '--url', 'ftp://example.org'], /--url must be an http\(s\) URL/],
    [['generate', 'worksheet.json', '--out', 'x', '--token', 'a'], /--token needs --url/],
  ])('usage error %j exits 2', { timeout: CLI_TIMEOUT_MS }, async (args, pattern) => {
    expectOneLineError(await runCli(args), 2, pattern);
  });
});

describe('worksheet-images --help and --version', () => {
  it('--help explains every option, the worksheet format and the exit codes, exit 0', {
    timeout: CLI_TIMEOUT_MS,
  }, async () => {
    const run = await runCli(['--help']);

    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    for (const option of ['--out', '--url', '--token', '--embed', '--help', '--version', 'WORKSHEET_IMAGES_TOKEN']) {
      expect(run.stdout).toContain(option);
    }
    expect(run.stdout).toContain('"type": "image"');
    for (const code of ['0 ', '1 ', '2 ', '3 ', '4 ', '130 '])
      expect(run.stdout).toMatch(new RegExp(`^  ${code}`, 'm'));
  });

  it('--version prints the package version, exit 0', { timeout: CLI_TIMEOUT_MS }, async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = await runCli(['--version']);

    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });
});
