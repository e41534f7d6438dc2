import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createGatedProvider } from './support/gated-provider.js';
import { postGraphQL } from './support/graphql-clients.js';
import { deleteKeys, describeWithRedis, testRedisUrl, uniquePrefix } from './support/redis.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/** generateImage is a job of one image: listed while it runs, drained at shutdown, stored, shared in Redis mode. */
const SINGLE = /* GraphQL */ `
  mutation ($prompt: String!) {
    generateImage(prompt: $prompt, width: 256, height: 256) {
      id requestId status url attempts dimensions { width height } error { code }
    }
  }
`;

interface SingleResult {
  id: string;
  requestId: string;
  status: string;
  url: string | null;
  attempts: number;
  dimensions: { width: number; height: number };
  error: { code: string } | null;
}

async function generateImage(server: TestServer, prompt: string) {
  const { status, body } = await postGraphQL(server.url, SINGLE, { prompt });
  return { status, errors: body.errors, result: (body.data as { generateImage?: SingleResult } | null)?.generateImage };
}

let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

describe('generateImage runs as a job', { timeout: 30_000 }, () => {
  it("is listed as a running job while in flight, and answers its job's image, stored under the job", async () => {
    const provider = createGatedProvider();
    const server = await startTestServer({}, { provider });
    servers.push(server);
    expect(server.app.jobs.runningCount).toBe(0);

    const answer = generateImage(server, 'a kite on a job');
    await provider.whenWaiting(1);
    expect(server.app.jobs.runningCount).toBe(1);
    provider.release();

    const { errors, result } = await answer;
    expect(errors).toBeUndefined();
    expect(result).toMatchObject({
      requestId: 'image',
      status: 'SUCCEEDED',
      attempts: 1,
      dimensions: { width: 256, height: 256 },
      error: null,
    });
    const [jobId, requestId] = (result as SingleResult).id.split('/');
    expect(requestId).toBe('image');
    expect(result?.url).toBe(`/images/${jobId}/image`);
    expect(server.app.jobs.runningCount).toBe(0);

    // The job is a job like any other: readable by its id, its picture served at its url.
    const job = await postGraphQL(
      server.url,
      'query ($id: ID!) { generationJob(id: $id) { status stats { total } } }',
      {
        id: jobId,
      },
    );
    expect(job.body.data).toEqual({ generationJob: { status: 'COMPLETED', stats: { total: 1 } } });
    const picture = await fetch(new URL(result?.url as string, server.url));
    expect(picture.status).toBe(200);
    expect(picture.headers.get('content-type')).toBe('image/png');

    // Two calls are two jobs: their ids never meet in a normalized cache.
    provider.open();
    const again = await generateImage(server, 'a kite on a job');
    expect(again.result?.id).not.toBe(result?.id);
  });

  it('is waited for by a graceful shutdown, which refuses new work meanwhile', async () => {
    const provider = createGatedProvider();
    const server = await startTestServer({}, { provider });
    const answer = generateImage(server, 'finish me first');
    await provider.whenWaiting(1);

    let stopped = false;
    const stopping = server.app.stop({ graceMs: 20_000 }).then(() => {
      stopped = true;
    });
    await expect.poll(() => server.app.jobs.isAccepting).toBe(false);
    const refused = await generateImage(server, 'too late');
    expect(refused.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(provider.calls).toBe(1);
    // The drain is waiting on the image's job, not merely on its HTTP request.
    expect(server.app.jobs.runningCount).toBe(1);
    expect(stopped).toBe(false);

    provider.release();
    const { errors, result } = await answer;
    expect(errors).toBeUndefined();
    expect(result).toMatchObject({ status: 'SUCCEEDED', error: null });
    await stopping;
    expect(stopped).toBe(true);
  });

  it('is cancelled, and says so, when the shutdown grace period ends first', async () => {
    const provider = createGatedProvider();
    const server = await startTestServer({}, { provider });
    const answer = generateImage(server, 'never released');
    await provider.whenWaiting(1);
    const stopping = server.app.stop({ graceMs: 50 });
    const { errors, result } = await answer;
    expect(errors).toBeUndefined();
    expect(result).toMatchObject({ requestId: 'image', status: 'CANCELLED', error: { code: 'CANCELLED' } });
    await stopping;
  });
});

describeWithRedis('generateImage in Redis mode', { timeout: 60_000 }, () => {
  const url = testRedisUrl(13) as string;

  it('goes through the shared queue: its job and picture are on every replica', async () => {
    const prefix = uniquePrefix('single-image');
    try {
      const [a, b] = await Promise.all([
        startTestServer({ REDIS_URL: url, QUOTA_IMAGES_PER_MINUTE: '0' }, { redisPrefix: prefix }),
        startTestServer({ REDIS_URL: url, QUOTA_IMAGES_PER_MINUTE: '0' }, { redisPrefix: prefix }),
      ]);
      servers.push(a, b);
      await expect.poll(async () => (await fetch(a.url.replace(/\/graphql$/, '/ready'))).status).toBe(200);
      await expect.poll(async () => (await fetch(b.url.replace(/\/graphql$/, '/ready'))).status).toBe(200);

      const { errors, result } = await generateImage(a, 'a shared kite');
      expect(errors).toBeUndefined();
      expect(result).toMatchObject({ requestId: 'image', status: 'SUCCEEDED', error: null });
      const [jobId] = (result as SingleResult).id.split('/');
      const onB = await postGraphQL(b.url, 'query ($id: ID!) { generationJob(id: $id) { status } }', { id: jobId });
      expect(onB.body.data).toEqual({ generationJob: { status: 'COMPLETED' } });
      const picture = await fetch(new URL(result?.url as string, b.url));
      expect(picture.status).toBe(200);
    } finally {
      await Promise.all(servers.map((server) => server.close()));
      servers = [];
      const redis = new Redis(url);
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  });
});
