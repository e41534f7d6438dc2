import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  collectSubscription,
  createRecordingWsClient,
  GENERATE_MUTATION,
  images,
  postGraphQL,
  START_MUTATION,
  type RecordingWsClient,
} from './support/graphql-clients.js';
import { createLogger } from '../src/logger.js';
import { tokenTenant } from '../src/server/access-control.js';
import { createGatedProvider, type GatedProvider } from './support/gated-provider.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const tokenA = `wsi_${randomBytes(16).toString('hex')}`;
const tokenB = `wsi_${randomBytes(16).toString('hex')}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
/** A job under this id in either token's tenant (or the local one): a refused request must have made none. */
const inAnyTenant = async (id: string) =>
  (await server.app.jobs.get(id, tokenTenant(tokenA))) ??
  (await server.app.jobs.get(id, tokenTenant(tokenB))) ??
  (await server.app.jobs.get(id));

let server: TestServer;
let provider: GatedProvider;
/** Every response body, header list, frame and close reason a client saw, to prove no token leaks. */
const seen: string[] = [];
const wsClients: RecordingWsClient[] = [];
/** Log lines as written, before any scrubbing: the logger gets no secrets to hide, so a token passed to it shows. */
const rawLogLines: string[] = [];

beforeAll(async () => {
  provider = createGatedProvider();
  provider.open();
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      rawLogLines.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger({ level: 'trace', secrets: [], destination });
  server = await startTestServer(
    { API_TOKENS: `${tokenA}, ${tokenB}`, QUOTA_IMAGES_PER_MINUTE: '5' },
    { provider, logger },
  );
});
afterEach(async () => {
  await Promise.all(
    wsClients.splice(0).map(async (ws) => {
      await ws.dispose();
      seen.push(...ws.frames, ...ws.closeEvents.map((event) => `${event.code} ${event.reason}`));
    }),
  );
});
afterAll(async () => {
  await server.close();
});

async function post(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await postGraphQL(server.url, query, variables, headers);
  seen.push(response.text, JSON.stringify([...response.headers]));
  return response;
}

function wsClient(connectionParams?: Record<string, unknown>): RecordingWsClient {
  const client = createRecordingWsClient(server.wsUrl, connectionParams);
  wsClients.push(client);
  return client;
}

/** A graphql-ws client that authenticates with the upgrade request's Authorization header, as a Node client can. */
function wsClientWithHeader(authorization: string): {
  client: Client;
  closeEvents: Array<{ code: number; reason: string }>;
} {
  const closeEvents: Array<{ code: number; reason: string }> = [];
  class HeaderWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: { authorization } });
      this.on('close', (code, reason) => closeEvents.push({ code, reason: String(reason) }));
    }
  }
  const client = createClient({ url: server.wsUrl, webSocketImpl: HeaderWebSocket, lazy: true, retryAttempts: 0 });
  return { client, closeEvents };
}

const START_ONE = (jobId: string) => ({ input: { jobId, images: images(1, jobId) } });

describe('access over HTTP with API_TOKENS set', () => {
  it('answers 401 UNAUTHENTICATED with a Bearer challenge to a request without a token', async () => {
    const { status, body, headers } = await post('{ generationJob(id: "x") { id } }');
    expect(status).toBe(401);
    expect(headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    expect(body).toEqual({
      errors: [{ message: expect.stringContaining('Authorization: Bearer'), extensions: { code: 'UNAUTHENTICATED' } }],
    });
  });

  it.each([
    ['a wrong token', `Bearer wsi_${randomBytes(16).toString('hex')}`],
    ['a token that is a prefix of a real one', `Bearer ${tokenA.slice(0, -1)}`],
    ['a real token with another scheme', `Basic ${tokenA}`],
    ['a real token without a scheme', tokenA],
    ['an empty bearer', 'Bearer '],
  ])('answers 401 to %s', async (_name, authorization) => {
    const { status, body } = await post('{ generationJob(id: "x") { id } }', undefined, { authorization });
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('runs nothing for a mutation without a valid token', async () => {
    const calls = provider.calls;
    const { status } = await post(START_MUTATION, START_ONE('http-refused-1'), bearer('nope'));
    expect(status).toBe(401);
    expect(await inAnyTenant('http-refused-1')).toBeUndefined();
    expect(provider.calls).toBe(calls);
  });

  it('answers a request with either configured token', async () => {
    for (const token of [tokenA, tokenB]) {
      const { status, body } = await post('{ generationJob(id: "x") { id } }', undefined, bearer(token));
      expect(status).toBe(200);
      expect(body).toEqual({ data: { generationJob: null } });
    }
  });

  it('keeps /health and /ready open for probes', async () => {
    const base = server.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });

  it('lets a CORS preflight through without a token (browsers never send one there)', async () => {
    const response = await fetch(server.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://editor.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(response.status).toBeLessThan(300);
  });
});

describe('access over WebSocket with API_TOKENS set', () => {
  it('closes a connection without a token with 4403 before any operation runs', async () => {
    const ws = wsClient();
    const calls = provider.calls;
    const { error } = await collectSubscription(ws.client, START_MUTATION, START_ONE('ws-refused-1')).done;
    expect(error).toBeDefined();
    expect(ws.closeEvents).toEqual([{ code: 4403, reason: 'Forbidden' }]);
    // No connection_ack, so no operation result ever crossed the wire.
    expect(ws.frames).toEqual([]);
    expect(await inAnyTenant('ws-refused-1')).toBeUndefined();
    expect(provider.calls).toBe(calls);
  });

  it('closes a connection with a wrong token in connectionParams with 4403', async () => {
    const ws = wsClient({ authorization: 'Bearer wrong-token' });
    await collectSubscription(ws.client, START_MUTATION, START_ONE('ws-refused-2')).done;
    expect(ws.closeEvents).toEqual([{ code: 4403, reason: 'Forbidden' }]);
    expect(await inAnyTenant('ws-refused-2')).toBeUndefined();
  });

  it('closes a connection with a wrong token in the upgrade header with 4403', async () => {
    const { client, closeEvents } = wsClientWithHeader('Bearer wrong-token');
    await collectSubscription(client, START_MUTATION, START_ONE('ws-refused-3')).done;
    await client.dispose();
    expect(closeEvents[0]).toEqual({ code: 4403, reason: 'Forbidden' });
    expect(await inAnyTenant('ws-refused-3')).toBeUndefined();
  });

  it('runs operations for a token in connectionParams', async () => {
    const ws = wsClient({ authorization: `Bearer ${tokenB}` });
    const { results, error } = await collectSubscription(ws.client, '{ generationJob(id: "x") { id } }', {}).done;
    expect(error).toBeUndefined();
    expect(results).toEqual([{ data: { generationJob: null } }]);
  });

  it('runs operations for a token in the upgrade request header', async () => {
    const { client } = wsClientWithHeader(`Bearer ${tokenB}`);
    const { results, error } = await collectSubscription(client, '{ generationJob(id: "x") { id } }', {}).done;
    await client.dispose();
    expect(error).toBeUndefined();
    expect(results).toEqual([{ data: { generationJob: null } }]);
  });
});

describe('image quota per token (QUOTA_IMAGES_PER_MINUTE=5)', () => {
  it('lets a 3-image batch through, refuses the next 3 with RATE_LIMITED and how long to wait, and spares other tokens', async () => {
    const first = await post(GENERATE_MUTATION, { input: { images: images(3, 'quota a1') } }, bearer(tokenA));
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data).toMatchObject({
      generateWorksheetImages: { status: 'COMPLETED', stats: { successful: 3 } },
    });

    const calls = provider.calls;
    const second = await post(
      GENERATE_MUTATION,
      { input: { jobId: 'quota-over-1', images: images(3, 'quota a2') } },
      bearer(tokenA),
    );
    expect(second.status).toBe(429);
    expect(second.body.data).toBeUndefined();
    const error = second.body.errors?.[0];
    expect(error?.extensions?.code).toBe('RATE_LIMITED');
    const retryAfterSeconds = error?.extensions?.retryAfterSeconds as number;
    expect(retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(error?.message).toContain(`try again in ${retryAfterSeconds} seconds`);
    expect(second.headers.get('retry-after')).toBe(String(retryAfterSeconds));
    expect(provider.calls).toBe(calls);
    expect(await inAnyTenant('quota-over-1')).toBeUndefined();

    const other = await post(
      GENERATE_MUTATION,
      { input: { jobId: 'quota-b-1', images: images(3, 'quota b1') } },
      bearer(tokenB),
    );
    expect(other.body.errors).toBeUndefined();
    expect(other.body.data).toMatchObject({ generateWorksheetImages: { stats: { successful: 3 } } });
  });

  it('applies the same quota to mutations sent over WebSocket', async () => {
    const ws = wsClient({ authorization: `Bearer ${tokenA}` });
    const { results } = await collectSubscription(ws.client, GENERATE_MUTATION, {
      input: { images: images(3, 'quota ws') },
    }).done;
    expect(results[0]?.errors?.[0]?.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterSeconds: expect.any(Number),
    });
    expect(results[0]?.errors?.[0]?.extensions).not.toHaveProperty('http');
  });

  it('does not count a repeated jobId again: the retry answers the existing job and spends nothing', async () => {
    // tokenB has used 3 of 5: the same job again is free, 2 more images fit, and then nothing does.
    const again = await post(
      GENERATE_MUTATION,
      { input: { jobId: 'quota-b-1', images: images(3, 'quota b1') } },
      bearer(tokenB),
    );
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data).toMatchObject({ generateWorksheetImages: { id: 'quota-b-1' } });
    const two = await post(GENERATE_MUTATION, { input: { images: images(2, 'quota b2') } }, bearer(tokenB));
    expect(two.body.errors).toBeUndefined();
    const one = await post(
      'mutation { generateImage(prompt: "one more", width: 256, height: 256) { status } }',
      undefined,
      bearer(tokenB),
    );
    expect(one.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });

  it('counts aliased and fragment-wrapped fields, so they cannot slip past the quota', async () => {
    const server2 = await startTestServer({ QUOTA_IMAGES_PER_MINUTE: '2' }, { provider });
    try {
      const sneaky = `mutation {
        ...More
        a: generateImage(prompt: "a", width: 256, height: 256) { status }
      }
      fragment More on Mutation { ... on Mutation { b: generateImage(prompt: "b", width: 256, height: 256) { status } c: generateImage(prompt: "c", width: 256, height: 256) { status } } }`;
      const { body } = await postGraphQL(server2.url, sneaky);
      expect(body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      expect(body.errors?.[0]?.message).toContain('asks for 3 images');
    } finally {
      await server2.close();
    }
  });

  it('names callers by their address when no tokens are configured', async () => {
    const server2 = await startTestServer({ QUOTA_IMAGES_PER_MINUTE: '2' }, { provider });
    try {
      const one = 'mutation { generateImage(prompt: "by address", width: 256, height: 256) { status } }';
      expect((await postGraphQL(server2.url, one)).body.errors).toBeUndefined();
      expect((await postGraphQL(server2.url, one)).body.errors).toBeUndefined();
      const third = await postGraphQL(server2.url, one);
      expect(third.status).toBe(429);
      expect(third.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    } finally {
      await server2.close();
    }
  });
});

describe('the tokens stay secret', () => {
  it('appear in no response, frame, close reason or log line, even with a logger that scrubs nothing', () => {
    expect(rawLogLines.join('')).toContain('not authenticated');
    const everything = [...seen, ...rawLogLines].join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    for (const token of [tokenA, tokenB]) {
      expect(everything).not.toContain(token);
      expect(everything).not.toContain(token.slice(4, 20));
    }
  });
});
