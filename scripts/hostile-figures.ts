/**
 * Measures again, on a real server process, the figures of issue 10's "Why": each hostile scenario runs against
 * `src/main.ts` started as its own process, with the fake or the hostile upstream and every client in this process,
 * all on 127.0.0.1. Memory is the server's own, from /proc (VmRSS now, VmHWM its peak). Run by hand:
 *
 *   npx tsx scripts/hostile-figures.ts [scenario ...]   (scenarios: upstream reads metrics sockets caps words)
 *
 * Loops are bounded and every figure is printed as it is measured. On a shared machine timings are noisy.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { FAKE_TOGETHER_API_KEY, startFakeTogether } from '../test/support/fake-together.js';
import { HOSTILE_API_KEY, startHostileUpstream } from '../test/support/hostile-upstream.js';
import { type ServerProcess, startServerProcess } from '../test/support/server-process.js';
import { randomJpegOfSize } from '../test/support/test-images.js';

const MiB = 1024 * 1024;
const tokenA = `wsi_${randomBytes(16).toString('hex')}`;
const tokenB = `wsi_${randomBytes(16).toString('hex')}`;

function memoryOf(server: ServerProcess): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  const mib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1024;
  return { rss: Math.round(mib('VmRSS')), peak: Math.round(mib('VmHWM')) };
}

function print(scenario: string, figure: string): void {
  console.log(`${scenario.padEnd(34)} ${figure}`);
}

async function post(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, text: await response.text() };
}

const GENERATE =
  'mutation Go($input: GenerateWorksheetImagesInput!) { generateWorksheetImages(input: $input) { id stats { successful failed } results { status error { code message } } } }';
const oneImage = { input: { images: [{ id: '0-0', prompt: 'hostile', width: 512, height: 512 }] } };

/** Upstream answers read without a bound: 256 MiB JSON, an endless body, a 300 MiB url file. */
async function upstream(): Promise<void> {
  const hostile = await startHostileUpstream();
  const server = await startServerProcess({
    TOGETHER_API_KEY: HOSTILE_API_KEY,
    TOGETHER_BASE_URL: hostile.url,
    TOGETHER_IMAGE_HOSTS: hostile.origin,
    GENERATION_MAX_ATTEMPTS: '1',
    LOG_LEVEL: 'warn',
  });
  try {
    const health = server.url.replace('/graphql', '/health');
    for (const [name, answer] of [
      ['256 MiB JSON body', { kind: 'hugeJson', bytes: 256 * MiB }],
      ['endless JSON body', { kind: 'endlessJson' }],
      ['data[0].url to a 300 MiB file', { kind: 'url', file: { kind: 'big', bytes: 300 * MiB } }],
      ['bytes with only a JPEG signature', { kind: 'fakeImage' }],
    ] as const) {
      hostile.answer(answer);
      const before = memoryOf(server);
      const written = hostile.bytesWritten;
      let slowestHealthMs = 0;
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const startedAt = performance.now();
          await fetch(health).then((response) => response.arrayBuffer());
          slowestHealthMs = Math.max(slowestHealthMs, performance.now() - startedAt);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const startedAt = performance.now();
      const { text } = await post(server.url, GENERATE, oneImage);
      const tookMs = performance.now() - startedAt;
      polling = false;
      await poller;
      const after = memoryOf(server);
      const status = /"status":"(\w+)"/.exec(text)?.[1];
      const message = /"message":"([^"]*)"/.exec(text)?.[1];
      print(
        name,
        `${status} in ${Math.round(tookMs)} ms, upstream wrote ${((hostile.bytesWritten - written) / MiB).toFixed(1)} MiB, ` +
          `server RSS ${before.rss} -> ${after.rss} MiB (peak ${before.peak} -> ${after.peak}), slowest /health ${Math.round(slowestHealthMs)} ms; "${message}"`,
      );
    }
  } finally {
    await server.stop();
    await hostile.close();
  }
}

/** Parallel inline reads of a 100 x 1 MiB job. */
async function reads(): Promise<void> {
  const picture = randomJpegOfSize(MiB);
  const fake = await startFakeTogether({ imageBytes: () => picture });
  const server = await startServerProcess({
    TOGETHER_API_KEY: FAKE_TOGETHER_API_KEY,
    TOGETHER_BASE_URL: fake.url,
    QUOTA_IMAGES_PER_MINUTE: '0',
    GENERATION_CONCURRENCY: '16',
    JOB_MAX_RETAINED_BYTES: String(1024 * MiB),
    LOG_LEVEL: 'warn',
  });
  try {
    const images = Array.from({ length: 100 }, (_, index) => ({
      id: `0-${index}`,
      prompt: `p ${index}`,
      width: 512,
      height: 512,
    }));
    const generated = await post(server.url, GENERATE, { input: { jobId: 'big', images } });
    if (generated.status !== 200) throw new Error(generated.text.slice(0, 300));
    print('a 100 x 1 MiB job', /"stats":\{[^}]*\}/.exec(generated.text)?.[0] ?? generated.text.slice(0, 200));
    const read = 'query { generationJob(id: "big") { results { image } } }';
    for (const parallel of [10, 20, 40]) {
      const before = memoryOf(server);
      const startedAt = performance.now();
      const answers = await Promise.all(Array.from({ length: parallel }, () => post(server.url, read)));
      const after = memoryOf(server);
      const codes = new Set(
        answers.map((answer) => /"code":"(\w+)"/.exec(answer.text)?.[1] ?? `HTTP ${answer.status}`),
      );
      const largest = Math.max(...answers.map((answer) => answer.text.length));
      print(
        `${parallel} parallel results { image }`,
        `${[...codes].join(',')} in ${Math.round(performance.now() - startedAt)} ms, largest answer ${largest} B, ` +
          `RSS ${before.rss} -> ${after.rss} MiB, peak ${before.peak} -> ${after.peak} MiB (+${after.peak - before.peak}), alive: ${server.child.exitCode === null}`,
      );
    }
    const before = memoryOf(server);
    const urls = await post(server.url, 'query { generationJob(id: "big") { results { url } } }');
    const paths = [...urls.text.matchAll(/"url":"([^"]+)"/g)].map((match) => match[1] ?? '');
    const origin = server.url.replace('/graphql', '');
    const startedAt = performance.now();
    for (let start = 0; start < paths.length; start += 20) {
      await Promise.all(
        paths.slice(start, start + 20).map((path) => fetch(`${origin}${path}`).then((r) => r.arrayBuffer())),
      );
    }
    const after = memoryOf(server);
    print(
      'the same job by url, 20 at a time',
      `${paths.length} pictures in ${Math.round(performance.now() - startedAt)} ms, peak ${before.peak} -> ${after.peak} MiB`,
    );
  } finally {
    await server.stop();
    await fake.close();
  }
}

/** 20,000 distinct operation names. */
async function metrics(): Promise<void> {
  const server = await startServerProcess({ QUOTA_IMAGES_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
  try {
    const before = memoryOf(server);
    const FLOOD = 20_000;
    for (let start = 0; start < FLOOD; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, offset) =>
          post(server.url, `query Flood${start + offset} { generationJob(id: "x") { id } }`),
        ),
      );
    }
    const startedAt = performance.now();
    const exposition = await (await fetch(server.url.replace('/graphql', '/metrics'))).text();
    const scrapeMs = performance.now() - startedAt;
    const after = memoryOf(server);
    print(
      `${FLOOD} distinct operationNames`,
      `RSS ${before.rss} -> ${after.rss} MiB, /metrics ${(exposition.length / MiB).toFixed(2)} MB, ` +
        `${exposition.split('\n').length} lines, scrape ${Math.round(scrapeMs)} ms`,
    );
  } finally {
    await server.stop();
  }
}

/**
 * 1,000 sockets that never send connection_init, reopened when closed, while a token holder tries 8 times each way.
 * The flood runs in a process of its own, so that it cannot starve the honest client's event loop here.
 */
async function sockets(): Promise<void> {
  const server = await startServerProcess({ API_TOKENS: `${tokenA},${tokenB}`, LOG_LEVEL: 'warn' });
  const floodCode = `
    const WebSocket = require('ws');
    let opened = 0;
    const open = () => {
      if (opened >= 200000) return;
      opened += 1;
      const socket = new WebSocket(process.argv[1], 'graphql-transport-ws');
      socket.on('error', () => {});
      // A refused upgrade ends at once, so the socket is reopened at once: the harshest form of the flood.
      socket.on('unexpected-response', (request, response) => {
        response.resume();
        socket.terminate();
      });
      socket.on('close', open);
    };
    for (let index = 0; index < 1000; index += 1) open();
    setInterval(() => console.log(opened), 1000);
  `;
  const flood = spawn(process.execPath, ['-e', floodCode, server.wsUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  let opened = 0;
  flood.stdout.on('data', (chunk: Buffer) => {
    opened = Number(chunk.toString().trim().split('\n').at(-1));
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    for (const mode of ['header', 'connectionParams'] as const) {
      let succeeded = 0;
      const startedAt = performance.now();
      for (let attempt = 0; attempt < 8; attempt += 1) {
        class Authorized extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, mode === 'header' ? { headers: { authorization: `Bearer ${tokenA}` } } : {});
          }
        }
        const client = createClient({
          url: server.wsUrl,
          webSocketImpl: Authorized,
          retryAttempts: 0,
          ...(mode === 'connectionParams' ? { connectionParams: { authorization: `Bearer ${tokenA}` } } : {}),
        });
        const ok = await new Promise<boolean>((resolve) => {
          client.subscribe(
            { query: '{ generationJob(id: "x") { id } }' },
            { next: () => resolve(true), error: () => resolve(false), complete: () => resolve(true) },
          );
        });
        if (ok) succeeded += 1;
        await client.dispose();
      }
      print(
        `silent-socket flood, token in ${mode}`,
        `${succeeded} of 8 tries got in over ${((performance.now() - startedAt) / 1000).toFixed(1)} s (${opened} flood sockets opened so far)`,
      );
    }
  } finally {
    flood.kill('SIGKILL');
    await server.stop();
  }
}

/** One token's waiting subscriptions and SSE streams. */
async function caps(): Promise<void> {
  const server = await startServerProcess({ API_TOKENS: `${tokenA},${tokenB}`, LOG_LEVEL: 'warn' });
  try {
    const before = memoryOf(server);
    // Six connections of 20 subscriptions each (the per-connection cap), all to jobs that never come.
    const connections = Array.from({ length: 6 }, () =>
      createClient({
        url: server.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${tokenA}` },
      }),
    );
    let refused = 0;
    const subscription = 'subscription W($jobId: ID!) { generationProgress(jobId: $jobId) { sequence } }';
    const outcomes = await Promise.all(
      Array.from(
        { length: 120 },
        (_, index) =>
          new Promise<'waiting' | 'refused'>((resolve) => {
            connections[index % 6]?.subscribe(
              { query: subscription, variables: { jobId: `never-${index}` } },
              {
                // A refusal from the subscribe resolver arrives as a result with errors, then complete.
                next: (result) => {
                  if (!result.errors?.length) return resolve('waiting');
                  refused += 1;
                  resolve('refused');
                },
                error: () => {
                  refused += 1;
                  resolve('refused');
                },
                complete: () => resolve('waiting'),
              },
            );
            setTimeout(() => resolve('waiting'), 3000);
          }),
      ),
    );
    print(
      'waiting subscriptions, one token',
      `${outcomes.filter((o) => o === 'waiting').length} waiting, ${refused} refused TOO_MANY_SUBSCRIPTIONS`,
    );
    await Promise.all(connections.map((connection) => connection.dispose()));

    const aborts: AbortController[] = [];
    let accepted = 0;
    let tooMany = 0;
    const TRIES = 500;
    for (let index = 0; index < TRIES; index += 1) {
      const abort = new AbortController();
      aborts.push(abort);
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${tokenA}` },
        body: JSON.stringify({ query: subscription, variables: { jobId: `sse-${index}` } }),
        signal: abort.signal,
      }).catch(() => undefined);
      if (response?.status === 200) accepted += 1;
      else if (response?.status === 429) tooMany += 1;
    }
    const other = await post(
      server.url,
      '{ generationJob(id: "x") { id } }',
      {},
      { authorization: `Bearer ${tokenB}` },
    );
    const after = memoryOf(server);
    print(
      `${TRIES} SSE streams from one token`,
      `${accepted} open, ${tooMany} refused 429, other token HTTP ${other.status}, RSS ${before.rss} -> ${after.rss} MiB`,
    );
    for (const abort of aborts) abort.abort();

    const emptyStartedAt = performance.now();
    const empty = await post(server.url, subscription, { jobId: '' }, { authorization: `Bearer ${tokenA}` });
    print(
      'subscription to an empty job id',
      `${/"code":"(\w+)"/.exec(empty.text)?.[1]} in ${Math.round(performance.now() - emptyStartedAt)} ms`,
    );
  } finally {
    await server.stop();
  }
}

/** The upstream's words and the key in pieces, base64 and reversed. */
async function words(): Promise<void> {
  const hostile = await startHostileUpstream();
  const server = await startServerProcess({
    TOGETHER_API_KEY: HOSTILE_API_KEY,
    TOGETHER_BASE_URL: hostile.url,
    GENERATION_MAX_ATTEMPTS: '1',
    LOG_LEVEL: 'warn',
  });
  try {
    const key = HOSTILE_API_KEY;
    for (const status of [400, 404, 422, 500]) {
      const text = `Re-enter your password at http://evil.example ${key.slice(0, 10)} ${key.slice(10)} ${Buffer.from(key).toString('base64')} ${[...key].reverse().join('')}`;
      hostile.answer({ kind: 'error', status, text });
      const answer = await post(server.url, GENERATE, oneImage);
      const leaked = ['evil.example', key.slice(0, 10), Buffer.from(key).toString('base64')].filter((piece) =>
        answer.text.includes(piece),
      );
      print(
        `HTTP ${status} with hostile text`,
        `client sees "${/"message":"([^"]*)"/.exec(answer.text)?.[1]}"; leaked: ${leaked.length ? leaked.join(', ') : 'nothing'}`,
      );
    }
    const logs = server.output();
    print(
      'server log',
      `quotes the upstream: ${logs.includes('Re-enter your password')}; key pieces in it: ${[key, key.slice(0, 10), Buffer.from(key).toString('base64')].some((piece) => logs.includes(piece))}`,
    );
  } finally {
    await server.stop();
    await hostile.close();
  }
}

const scenarios: Record<string, () => Promise<void>> = { upstream, reads, metrics, sockets, caps, words };
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(scenarios);
for (const name of chosen) {
  const scenario = scenarios[name];
  if (!scenario) throw new Error(`unknown scenario ${name}; choose from ${Object.keys(scenarios).join(' ')}`);
  await scenario();
}
