import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectSubscription,
  createRecordingWsClient,
  GENERATE_MUTATION,
  images,
  postGraphQL,
  PROGRESS_SUBSCRIPTION,
} from './support/graphql-clients.js';
import { errorBody, startFakeTogether, type FakeTogether } from './support/fake-together.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const canary = `tgp_v1_canary_${randomBytes(12).toString('hex')}`;

describe('the upstream key stays on the server', () => {
  let fake: FakeTogether;
  let server: TestServer;
  const seen: string[] = [];

  beforeAll(async () => {
    fake = await startFakeTogether({ apiKey: canary });
    server = await startTestServer({
      TOGETHER_API_KEY: canary,
      TOGETHER_BASE_URL: fake.url,
      GENERATION_MAX_ATTEMPTS: '2',
      UPSTREAM_TIMEOUT_MS: '300',
      SUBSCRIBE_WAIT_MS: '2000',
    });
  });
  afterAll(async () => {
    await server.close();
    await fake.close();
  });

  async function run(jobId: string, count: number): Promise<void> {
    const ws = createRecordingWsClient(server.wsUrl);
    try {
      const subscription = collectSubscription(ws.client, PROGRESS_SUBSCRIPTION, { jobId });
      await new Promise((resolve) => setTimeout(resolve, 150));
      const response = await postGraphQL(server.url, GENERATE_MUTATION, {
        input: { jobId, images: images(count, jobId) },
      });
      seen.push(response.text, JSON.stringify([...response.headers]));
      await subscription.done;
    } finally {
      await ws.dispose();
      seen.push(...ws.frames, ...ws.closeEvents.map((event) => `${event.code} ${event.reason}`));
    }
  }

  it('is sent upstream as the bearer token', async () => {
    await run('secret-ok', 2);
    expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${canary}`);
  });

  it('appears in no response, frame, close reason or log line, even when the upstream quotes it', async () => {
    fake.enqueue({
      kind: 'status',
      status: 401,
      body: errorBody(`Invalid API key provided: ${canary}`, 'invalid_api_key'),
    });
    await run('secret-401', 2);
    fake.enqueue(
      { kind: 'status', status: 500, body: errorBody(`internal failure for key ${canary}`, 'server_error') },
      { kind: 'status', status: 500, body: errorBody(`internal failure for key ${canary}`, 'server_error') },
    );
    await run('secret-500', 1);
    fake.enqueue({
      kind: 'status',
      status: 400,
      body: errorBody(`bad request from ${canary.slice(0, 20)}... ${canary}`, 'invalid_request_error'),
    });
    await run('secret-400', 1);
    fake.enqueue({ kind: 'hang' }, { kind: 'hang' });
    await run('secret-timeout', 1);

    const everything = [...seen, server.logs()].join('\n');
    expect(everything).toContain('UPSTREAM_AUTH');
    expect(everything).toContain('TIMEOUT');
    expect(everything).toContain('[REDACTED]');
    expect(everything).not.toContain(canary);
    // Not even a part of it.
    expect(everything).not.toContain(canary.slice(0, 16));
    expect(everything).not.toContain(canary.slice(-16));
  });
});
