import { afterEach, expect, it } from 'vitest';
import { FAKE_TOGETHER_API_KEY, type FakeTogether, startFakeTogether } from './support/fake-together.js';
import { GENERATE_MUTATION, images, postGraphQL } from './support/graphql-clients.js';
import { type OwnRedis, startOwnRedis } from './support/own-redis.js';
import { describeWithRedis } from './support/redis.js';
import { type ServerProcess, startServerProcess } from './support/server-process.js';

/**
 * Redis going away and coming back, with a redis-server of the test's own (never the shared one): the replica says
 * it is not ready, answers requests with a clear error within seconds, does not crash, and recovers by itself.
 */
describeWithRedis('a replica whose Redis goes away', { timeout: 90_000 }, () => {
  let redis: OwnRedis | undefined;
  let fake: FakeTogether | undefined;
  let server: ServerProcess | undefined;
  afterEach(async () => {
    server?.child.kill('SIGKILL');
    await redis?.kill();
    await fake?.close();
  });

  it('answers /ready 503 and requests SERVICE_UNAVAILABLE within seconds, then recovers when Redis is back', async () => {
    redis = await startOwnRedis();
    fake = await startFakeTogether();
    server = await startServerProcess({
      TOGETHER_API_KEY: FAKE_TOGETHER_API_KEY,
      TOGETHER_BASE_URL: fake.url,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'warn',
    });
    const ready = () => fetch(server!.url.replace(/\/graphql$/, '/ready')).then((response) => response.status);
    await expect.poll(ready, { timeout: 10_000 }).toBe(200);
    const before = await postGraphQL(server.url, GENERATE_MUTATION, { input: { images: images(2, 'before') } });
    expect(before.body.data?.generateWorksheetImages).toMatchObject({ status: 'COMPLETED' });

    await redis.kill();
    await expect.poll(ready, { timeout: 10_000 }).toBe(503);
    const startedAt = performance.now();
    const during = await postGraphQL(server.url, GENERATE_MUTATION, { input: { images: images(2, 'during') } });
    expect(performance.now() - startedAt).toBeLessThan(8_000);
    expect(during.body.errors?.[0]).toMatchObject({
      message: expect.stringContaining('Redis'),
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    expect(during.text).not.toMatch(/at .*\.ts:\d+/);
    const read = await postGraphQL(server.url, 'query { generationJob(id: "x") { id } }');
    expect(read.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');

    await redis.restart();
    await expect.poll(ready, { timeout: 15_000 }).toBe(200);
    const after = await postGraphQL(server.url, GENERATE_MUTATION, { input: { images: images(2, 'after') } });
    expect(after.body.data?.generateWorksheetImages).toMatchObject({ status: 'COMPLETED', stats: { successful: 2 } });
    expect(server.child.exitCode).toBeNull();
  });
});
