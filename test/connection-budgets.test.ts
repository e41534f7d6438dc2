import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  collectSubscription,
  createRecordingWsClient,
  images,
  PROGRESS_SUBSCRIPTION,
  postGraphQL,
  type RecordingWsClient,
  START_MUTATION,
} from './support/graphql-clients.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const tokenA = `wsi_${randomBytes(16).toString('hex')}`;
const tokenB = `wsi_${randomBytes(16).toString('hex')}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const PER_CLIENT = 3;
const PENDING = 20;
const WAITING = 5;

let server: TestServer;
const sockets = new Set<WebSocket>();
const clients: RecordingWsClient[] = [];
const aborts: AbortController[] = [];

beforeAll(async () => {
  server = await startTestServer({
    API_TOKENS: `${tokenA},${tokenB}`,
    QUOTA_IMAGES_PER_MINUTE: '0',
    MAX_CONNECTIONS_PER_CLIENT: String(PER_CLIENT),
    WS_MAX_PENDING_CONNECTIONS: String(PENDING),
    WS_INIT_TIMEOUT_MS: '1500',
    MAX_WAITING_SUBSCRIPTIONS_PER_CLIENT: String(WAITING),
    SUBSCRIBE_WAIT_MS: '20000',
  });
});
afterEach(async () => {
  for (const abort of aborts.splice(0)) abort.abort();
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
  for (const socket of sockets) socket.terminate();
  sockets.clear();
  await expect.poll(() => server.app.webSocketConnections, { timeout: 10_000 }).toBe(0);
});
afterAll(async () => {
  await server?.close();
});

/** A raw graphql-transport-ws socket that sends nothing; answers once it is open or refused. */
function rawSocket(headers: Record<string, string> = {}): Promise<{ outcome: 'open' | number; socket: WebSocket }> {
  const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws', { headers });
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => {});
  return new Promise((resolve) => {
    socket.once('open', () => resolve({ outcome: 'open', socket }));
    socket.once('unexpected-response', (_request, response) => {
      resolve({ outcome: response.statusCode ?? 0, socket });
      response.resume();
    });
    socket.once('close', () => resolve({ outcome: 0, socket }));
  });
}

/** A graphql-ws client with the token in connectionParams, as a browser sends it. */
function paramsClient(token: string): RecordingWsClient {
  const client = createRecordingWsClient(server.wsUrl, { authorization: `Bearer ${token}` });
  clients.push(client);
  return client;
}

/** A graphql-ws client with the token in the upgrade request's Authorization header, as a server-side client can. */
function headerClient(token: string) {
  class HeaderWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: bearer(token) });
    }
  }
  // Not lazy: the connection stays open until disposed, holding its place.
  const client = createClient({ url: server.wsUrl, webSocketImpl: HeaderWebSocket, lazy: false, retryAttempts: 0 });
  clients.push({ client, frames: [], closeEvents: [], dispose: () => Promise.resolve(client.dispose()) });
  return client;
}

const ASK = '{ generationJob(id: "nothing-here") { id } }';

/** Runs one query over a WebSocket client; answers its data or the error that ended it. */
async function ask(client: ReturnType<typeof createClient>): Promise<unknown> {
  const { results, error } = await collectSubscription(client, ASK, {}).done;
  return error ? { error: String((error as { code?: number }).code ?? error) } : results[0];
}

/** Opens an SSE stream for a subscription that waits; answers its HTTP status. The stream stays open until cleanup. */
async function sseStream(token: string, jobId: string): Promise<{ status: number; body?: string }> {
  const abort = new AbortController();
  aborts.push(abort);
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(token) },
    body: JSON.stringify({ query: PROGRESS_SUBSCRIPTION, variables: { jobId } }),
    signal: abort.signal,
  });
  if (response.status === 200) return { status: 200 };
  return { status: response.status, body: await response.text() };
}

describe('sockets that never authenticate cannot shut out authenticated clients', () => {
  it('a flood of silent sockets, reopened as they close, leaves every token-bearing client in (8 of 8)', async () => {
    let opened = 0;
    let flooding = true;
    const FLOOD = 200;
    const MAX_OPENS = 1000;
    // Each flood socket reopens when it is closed (evicted or timed out), up to MAX_OPENS in all.
    const flood = async () => {
      while (flooding && opened < MAX_OPENS) {
        opened += 1;
        const { socket, outcome } = await rawSocket();
        if (outcome === 'open') await new Promise((resolve) => socket.once('close', resolve));
      }
    };
    const flooders = Array.from({ length: FLOOD }, flood);
    await expect.poll(() => opened, { timeout: 10_000 }).toBeGreaterThanOrEqual(FLOOD);

    const outcomes: unknown[] = [];
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const client = headerClient(attempt % 2 === 0 ? tokenA : tokenB);
      outcomes.push(await ask(client));
      await client.dispose();
    }
    flooding = false;
    for (const socket of sockets) socket.terminate();
    await Promise.all(flooders);
    expect(outcomes).toEqual(Array.from({ length: 8 }, () => ({ data: { generationJob: null } })));
    // The silent sockets never held more than their own pool.
    expect(opened).toBeGreaterThan(FLOOD);
  });

  it('a full pending pool makes room once its sockets had their chance: a browser-style client (token in connectionParams) gets in', async () => {
    const silent = await Promise.all(Array.from({ length: PENDING }, () => rawSocket()));
    expect(silent.every((entry) => entry.outcome === 'open')).toBe(true);
    // While every pending socket is new, a newcomer is refused rather than one of them closed before it could speak.
    expect((await rawSocket()).outcome).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const client = paramsClient(tokenA);
    expect(await ask(client.client)).toEqual({ data: { generationJob: null } });
    // The oldest silent socket was closed to make room.
    expect(silent[0]?.socket.readyState).toBe(WebSocket.CLOSED);
  });

  it('a socket that does not send connection_init in time is closed (4408)', async () => {
    const { socket } = await rawSocket();
    const code = await new Promise<number>((resolve) => socket.once('close', (closeCode) => resolve(closeCode)));
    expect(code).toBe(4408);
  });
});

describe('per-client budgets over WebSocket and SSE together', () => {
  it(`one token holds at most ${PER_CLIENT} connections; the other token is unaffected; a freed place is reusable`, async () => {
    const held = [headerClient(tokenA), headerClient(tokenA), headerClient(tokenA)];
    for (const client of held) expect(await ask(client)).toEqual({ data: { generationJob: null } });

    // Over the budget: refused at the upgrade (header), at connection_init (connectionParams) and for SSE.
    const upgrade = await rawSocket(bearer(tokenA));
    expect(upgrade.outcome).toBe(429);
    const browser = paramsClient(tokenA);
    await ask(browser.client);
    expect(browser.closeEvents[0]).toEqual({ code: 1013, reason: 'Too many connections' });
    const sse = await sseStream(tokenA, 'any-job');
    expect(sse.status).toBe(429);
    expect(JSON.parse(sse.body ?? '{}').errors[0].extensions.code).toBe('TOO_MANY_CONNECTIONS');

    // The other tenant is not touched.
    expect(await ask(headerClient(tokenB))).toEqual({ data: { generationJob: null } });
    expect((await sseStream(tokenB, 'b-job')).status).toBe(200);

    // A freed place can be taken again.
    await held[0]?.dispose();
    await expect.poll(async () => (await rawSocket(bearer(tokenA))).outcome, { timeout: 5000 }).toBe('open');
  });

  it('SSE streams count against the same budget', async () => {
    for (let index = 0; index < PER_CLIENT; index += 1) {
      expect((await sseStream(tokenA, `sse-${index}`)).status).toBe(200);
    }
    expect((await sseStream(tokenA, 'sse-over')).status).toBe(429);
    expect((await rawSocket(bearer(tokenA))).outcome).toBe(429);
  });
});

describe('subscriptions', () => {
  it('waiting for jobs that do not exist is capped per client, at once; existing jobs and other tokens are not', async () => {
    const client = paramsClient(tokenA);
    // Sent together on one socket, so they race for the places.
    const waiting = Array.from({ length: WAITING }, (_, index) =>
      collectSubscription(client.client, PROGRESS_SUBSCRIPTION, { jobId: `later-${index + 1}` }),
    );
    const startedAt = Date.now();
    const over = await collectSubscription(client.client, PROGRESS_SUBSCRIPTION, { jobId: 'later-over' }).done;
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(JSON.stringify(over)).toContain('TOO_MANY_SUBSCRIPTIONS');
    const [first, second] = waiting;
    if (!first || !second) throw new Error('no waiting subscriptions');

    const other = paramsClient(tokenB);
    const elsewhere = collectSubscription(other.client, PROGRESS_SUBSCRIPTION, { jobId: 'b-later' });

    // A job that exists takes no waiting place: A can follow it while two others wait.
    const started = await postGraphQL(
      server.url,
      START_MUTATION,
      { input: { jobId: 'exists', images: images(1) } },
      bearer(tokenA),
    );
    expect(started.body.errors).toBeUndefined();
    const existing = await collectSubscription(client.client, PROGRESS_SUBSCRIPTION, { jobId: 'exists' }).done;
    expect(existing.results.at(-1)?.data).toMatchObject({ generationProgress: { done: true } });

    // Once a waited-for job appears, its place is free again.
    await postGraphQL(server.url, START_MUTATION, { input: { jobId: 'later-1', images: images(1) } }, bearer(tokenA));
    expect((await first.done).results.at(-1)?.data).toMatchObject({ generationProgress: { done: true } });
    const again = await Promise.race([
      collectSubscription(client.client, PROGRESS_SUBSCRIPTION, { jobId: 'later-again' }).done,
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 500)),
    ]);
    expect(again).toBe('still waiting');
    for (const entry of waiting.slice(1)) entry.unsubscribe();
    elsewhere.unsubscribe();
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['too long', 'x'.repeat(200)],
  ])('an %s job id is BAD_USER_INPUT at once, over WebSocket and SSE', async (_name, jobId) => {
    const startedAt = Date.now();
    const { error, results } = await collectSubscription(paramsClient(tokenA).client, PROGRESS_SUBSCRIPTION, {
      jobId,
    }).done;
    const answered = JSON.stringify(error ?? results);
    expect(answered).toContain('BAD_USER_INPUT');
    expect(answered).toContain('jobId');

    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(tokenA) },
      body: JSON.stringify({ query: PROGRESS_SUBSCRIPTION, variables: { jobId } }),
    });
    expect(await response.text()).toContain('BAD_USER_INPUT');
    // SUBSCRIBE_WAIT_MS is 20 s: nothing waited.
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  });
});
