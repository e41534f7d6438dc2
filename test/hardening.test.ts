import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { GRAPHIQL_DEFAULT_QUERY } from '../src/server/graphiql.js';
import {
  collectSubscription,
  createRecordingWsClient,
  GENERATE_MUTATION,
  images,
  postGraphQL,
  PROGRESS_SUBSCRIPTION,
  type RecordingWsClient,
} from './support/graphql-clients.js';
import { createGatedProvider, type GatedProvider } from './support/gated-provider.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const ALLOWED_ORIGIN = 'https://editor.example.org';

let server: TestServer;
let provider: GatedProvider;

beforeAll(async () => {
  provider = createGatedProvider();
  provider.open();
  server = await startTestServer({ NODE_ENV: 'production', WS_ALLOWED_ORIGINS: ALLOWED_ORIGIN }, { provider });
});
afterAll(async () => {
  await server.close();
});

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };

type ResponseBody = { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

async function send(
  init: RequestInit,
  query = '',
): Promise<{
  status: number;
  text: string;
  body: ResponseBody | undefined;
}> {
  const response = await fetch(server.url + query, init);
  const text = await response.text();
  let body: ResponseBody | undefined;
  try {
    body = JSON.parse(text) as ResponseBody;
  } catch {
    body = undefined;
  }
  return { status: response.status, text, body };
}

const post = (query: string, extra: Record<string, unknown> = {}) =>
  send({ method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ query, ...extra }) });

/** A probe is blocked when no part of it executed: no data, and a GraphQL error or a 4xx says why. */
function expectBlocked(result: Awaited<ReturnType<typeof send>>, reason: RegExp): void {
  expect(result.status).toBeGreaterThanOrEqual(400);
  expect(result.status).toBeLessThan(500);
  expect(result.body?.data ?? undefined).toBeUndefined();
  expect(result.body?.errors?.map((error) => error.message).join('\n')).toMatch(reason);
}

describe('graphql-cop probes against NODE_ENV=production', () => {
  it('HIGH alias overloading: 101 aliases are refused', async () => {
    const query = `query cop { ${Array.from({ length: 101 }, (_, index) => `alias${index}: __typename`).join(' ')} }`;
    expectBlocked(await post(query), /Aliases limit of 5 exceeded/);
  });

  it('HIGH array batching: a JSON array of operations is refused', async () => {
    const result = await send({
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(Array.from({ length: 10 }, () => ({ query: 'query cop { __typename }' }))),
    });
    expectBlocked(result, /Batching is not supported/);
  });

  it('HIGH field duplication: 500 repeats of a field are refused', async () => {
    expectBlocked(await post(`query cop { ${'__typename \n'.repeat(500)} }`), /Cost limit of 300 exceeded/);
  });

  it('HIGH directive overloading: ten repeated unknown directives are refused, not answered with ten errors', async () => {
    const result = await post(`query cop { __typename ${'@aa'.repeat(10)} }`);
    expectBlocked(result, /Directives limit of 5 exceeded/);
    expect(result.body?.errors).not.toHaveLength(10);
  });

  it('HIGH directive overloading: fifty @skip on one field are refused', async () => {
    expectBlocked(
      await post(`query { __typename ${'@skip(if: false) '.repeat(50)} }`),
      /Directives limit of 5 exceeded/,
    );
  });

  it('HIGH introspection-based circular query is refused', async () => {
    const query =
      'query cop { __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }';
    expectBlocked(await post(query), /introspection/i);
  });

  it('HIGH introspection is off', async () => {
    expectBlocked(
      await post('query cop { __schema { queryType { name } types { name fields { name } } } }'),
      /introspection has been disabled/,
    );
    expectBlocked(
      await post('{ __type(name: "GenerationJob") { fields { name } } }'),
      /introspection has been disabled/,
    );
  });

  it('MEDIUM mutation over GET is refused with 405', async () => {
    const calls = provider.calls;
    const mutation = encodeURIComponent(
      'mutation cop { generateImage(prompt: "csrf", width: 256, height: 256) { id } }',
    );
    const result = await send({ headers: { accept: 'application/graphql-response+json' } }, `?query=${mutation}`);
    expect(result.status).toBe(405);
    expect(result.body?.data).toBeUndefined();
    expect(provider.calls).toBe(calls);
  });

  it('MEDIUM url-encoded POST (a cross-site form) is refused without running anything', async () => {
    const calls = provider.calls;
    const result = await send({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `query=${encodeURIComponent('mutation cop { generateImage(prompt: "csrf", width: 256, height: 256) { id } }')}`,
    });
    expectBlocked(result, /CSRF/);
    expect(result.status).toBe(403);
    expect(provider.calls).toBe(calls);
  });

  it.each([
    ['text/plain', 'text/plain;charset=UTF-8'],
    ['multipart/form-data', 'multipart/form-data; boundary=x'],
  ])('MEDIUM simple-request POST as %s is refused as a possible CSRF', async (_name, contentType) => {
    const result = await send({
      method: 'POST',
      headers: { 'content-type': contentType },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expectBlocked(result, /CSRF/);
  });

  it('allows queries over GET: they only read, and mutations cannot ride on them', async () => {
    const result = await send(
      { headers: { accept: 'application/graphql-response+json' } },
      `?query=${encodeURIComponent('query cop { __typename }')}`,
    );
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('LOW field suggestions are hidden (no "Did you mean")', async () => {
    const probes = [
      await post('query cop { generationJo(id: "x") { id } }'),
      await post('{ generationJob(id: "x") { stauts resuls { id } } }'),
      await post('mutation($input: GenerateWorksheetImagesInput!) { startWorksheetImages(input: $input) { id } }', {
        variables: { input: { imags: [], images: [{ id: '1', prompt: 'x', widht: 256, width: 256, height: 256 }] } },
      }),
      await post('{ generationJob(i: "x") { id } }'),
    ];
    for (const probe of probes) {
      expect(probe.body?.errors?.length).toBeGreaterThan(0);
      expect(probe.text).not.toMatch(/did you mean/i);
    }
  });

  it('LOW GraphiQL is not served', async () => {
    const response = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(response.status).not.toBe(200);
    expect(await response.text()).not.toMatch(/graphiql/i);
  });

  it('INFO trace mode: answers carry no tracing extensions', async () => {
    const result = await post('query cop { __typename }');
    expect(result.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('INFO unhandled errors: a malformed query is a clean 400 parse error without a stack or exception', async () => {
    const result = await post('query cop { __typename {}');
    expectBlocked(result, /Syntax Error/);
    expect(result.body?.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(result.text).not.toMatch(/stack|exception|at .*\.js/i);
  });

  it('applies the same document limits to operations sent over WebSocket', async () => {
    const ws = createRecordingWsClient(server.wsUrl);
    try {
      const query = `{ ${Array.from({ length: 101 }, (_, index) => `alias${index}: __typename`).join(' ')} }`;
      const { error } = await collectSubscription(ws.client, query, {}).done;
      expect(JSON.stringify(error)).toMatch(/Aliases limit of 5 exceeded/);
      const deep = await collectSubscription(ws.client, 'query cop { __typename {}', {}).done;
      expect(JSON.stringify(deep.error)).toMatch(/Syntax Error/);
      expect(ws.closeEvents).toEqual([]);
    } finally {
      await ws.dispose();
    }
  });
});

describe('honest operations still pass the limits', () => {
  it('runs the README curl example', async () => {
    const query =
      'mutation($input: GenerateWorksheetImagesInput!) { generateWorksheetImages(input: $input) { id status stats { total successful failed retries durationMs } results { id requestId status dimensions { width height } error { code message } image } } }';
    const result = await post(query, {
      variables: {
        input: {
          images: [
            { id: '0-0', prompt: 'A friendly cartoon elephant counting apples', width: 512, height: 512 },
            { id: '0-1', prompt: 'Three red apples on a wooden table', width: 500, height: 300, seed: 7 },
          ],
        },
      },
    });
    expect(result.body?.errors).toBeUndefined();
    expect(result.body?.data).toMatchObject({
      generateWorksheetImages: { status: 'COMPLETED', stats: { successful: 2 } },
    });
  });

  it("runs GraphiQL's default document", async () => {
    const started = await post(GRAPHIQL_DEFAULT_QUERY, { operationName: 'Start' });
    expect(started.body?.errors).toBeUndefined();
    expect(started.body?.data).toMatchObject({ startWorksheetImages: { id: 'demo-1', status: 'RUNNING' } });
    const { client, dispose } = createRecordingWsClient(server.wsUrl);
    const events: Array<{ generationProgress: { done: boolean } }> = [];
    await new Promise<void>((resolve, reject) =>
      client.subscribe<{ generationProgress: { done: boolean } }>(
        { query: GRAPHIQL_DEFAULT_QUERY, operationName: 'Follow' },
        { next: (result) => void (result.data && events.push(result.data)), error: reject, complete: resolve },
      ),
    );
    await dispose();
    expect(events.at(-1)?.generationProgress.done).toBe(true);
    const job = await post(GRAPHIQL_DEFAULT_QUERY, { operationName: 'Job' });
    expect(job.body?.errors).toBeUndefined();
    expect(job.body?.data).toMatchObject({ generationJob: { status: 'COMPLETED', stats: { successful: 2 } } });
  });

  it('runs a full 100-image batch sent as variables', async () => {
    const { body } = await postGraphQL(server.url, GENERATE_MUTATION, { input: { images: images(100, 'variables') } });
    expect(body.errors).toBeUndefined();
    expect(body.data).toMatchObject({ generateWorksheetImages: { stats: { total: 100, successful: 100 } } });
  });

  it('parses a full 100-image batch written inline in the query, seeds included', async () => {
    const inline = Array.from(
      { length: 100 },
      (_, index) =>
        `{ id: "0-${index}", prompt: "inline picture number ${index}", width: 256, height: 256, seed: ${index} }`,
    ).join(' ');
    const result = await post(
      `mutation { generateWorksheetImages(input: { images: [${inline}] }) { id stats { total successful } } }`,
    );
    expect(result.body?.errors).toBeUndefined();
    expect(result.body?.data).toMatchObject({ generateWorksheetImages: { stats: { total: 100, successful: 100 } } });
  });

  it('runs a query that selects every field of a job once', async () => {
    const result = await post(`{ generationJob(id: "demo-1") { id status createdAt finishedAt
      stats { total successful failed cancelled pending retries durationMs }
      results { id status success image mimeType byteLength placeholder attempts retryInMs deduplicated
        dimensions { width height } requestedDimensions { width height } error { code message retryable } } } }`);
    expect(result.body?.errors).toBeUndefined();
    expect(result.body?.data).toMatchObject({ generationJob: { id: 'demo-1' } });
  });
});

describe('WebSocket limits', () => {
  let wsServer: TestServer;
  const sockets: WebSocket[] = [];
  const clients: RecordingWsClient[] = [];

  beforeAll(async () => {
    wsServer = await startTestServer(
      {
        NODE_ENV: 'production',
        WS_ALLOWED_ORIGINS: `${ALLOWED_ORIGIN}, http://localhost:5173`,
        WS_MAX_CONNECTIONS: '3',
        WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
        SUBSCRIBE_WAIT_MS: '20000',
      },
      { provider },
    );
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    for (const socket of sockets.splice(0)) socket.terminate();
    // The next test starts from no connections at all.
    await expect.poll(() => wsServer.app.webSocketConnections, { timeout: 5000 }).toBe(0);
  });
  afterAll(async () => {
    await wsServer.close();
  });

  /** Opens a raw graphql-transport-ws socket; answers 'open' or the HTTP status the upgrade was refused with. */
  function open(headers: Record<string, string> = {}): Promise<{ outcome: 'open' | number; socket: WebSocket }> {
    const socket = new WebSocket(wsServer.wsUrl, 'graphql-transport-ws', { headers });
    sockets.push(socket);
    return new Promise((resolve) => {
      socket.once('open', () => resolve({ outcome: 'open', socket }));
      socket.once('unexpected-response', (_request, response) => {
        resolve({ outcome: response.statusCode ?? 0, socket });
        response.resume();
      });
      socket.on('error', () => {});
    });
  }

  /** Opens a socket and completes connection_init, so that it holds a place in the authenticated pool. */
  async function openReady(): Promise<{ outcome: 'open' | number; socket: WebSocket }> {
    const opened = await open();
    if (opened.outcome !== 'open') return opened;
    const acked = new Promise<void>((resolve) =>
      opened.socket.on('message', (data) => {
        if (String(data).includes('connection_ack')) resolve();
      }),
    );
    opened.socket.send(JSON.stringify({ type: 'connection_init' }));
    await acked;
    return opened;
  }

  function closed(socket: WebSocket): Promise<{ code: number; reason: string }> {
    return new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  it('refuses an upgrade from an Origin that is not allowed with 403, and accepts allowed ones', async () => {
    expect((await open({ origin: 'https://evil.example' })).outcome).toBe(403);
    expect((await open({ origin: 'https://editor.example.org.evil.example' })).outcome).toBe(403);
    expect((await open({ origin: ALLOWED_ORIGIN })).outcome).toBe('open');
    expect((await open({ origin: 'http://localhost:5173' })).outcome).toBe('open');
  });

  it('closes a connection that sends a message over 64 KiB (1009)', async () => {
    const { outcome, socket } = await open();
    expect(outcome).toBe('open');
    const ended = closed(socket);
    socket.send(JSON.stringify({ type: 'connection_init' }));
    socket.send(
      JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `{ __typename } # ${'x'.repeat(70 * 1024)}` } }),
    );
    expect((await ended).code).toBe(1009);
  });

  it('refuses connections beyond WS_MAX_CONNECTIONS with 503, and takes new ones once others close', async () => {
    const opened = [await openReady(), await openReady(), await openReady()];
    expect(opened.map((entry) => entry.outcome)).toEqual(['open', 'open', 'open']);
    expect((await open()).outcome).toBe(503);

    const gone = closed(opened[0]!.socket);
    opened[0]!.socket.close();
    await gone;
    await expect.poll(async () => (await open()).outcome, { timeout: 5000 }).toBe('open');
  });

  it('refuses operations beyond WS_MAX_SUBSCRIPTIONS_PER_CONNECTION on one connection, without closing it', async () => {
    const ws = createRecordingWsClient(wsServer.wsUrl);
    clients.push(ws);
    const first = collectSubscription(ws.client, PROGRESS_SUBSCRIPTION, { jobId: 'cap-1' });
    const second = collectSubscription(ws.client, PROGRESS_SUBSCRIPTION, { jobId: 'cap-2' });
    // Both wait for jobs that do not exist yet, so they stay active; messages on one socket arrive in order.
    const third = await collectSubscription(ws.client, PROGRESS_SUBSCRIPTION, { jobId: 'cap-3' }).done;
    expect(JSON.stringify(third.error)).toMatch(/TOO_MANY_SUBSCRIPTIONS|at most 2 may run at once/);

    // Completing one makes room for another on the same connection.
    first.unsubscribe();
    const fourth = collectSubscription(ws.client, '{ __typename }', {});
    expect((await fourth.done).results).toEqual([{ data: { __typename: 'Query' } }]);
    expect(ws.closeEvents).toEqual([]);
    second.unsubscribe();
  });
});
