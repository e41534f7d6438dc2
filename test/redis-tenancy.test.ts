import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GENERATE_MUTATION, images, postGraphQL } from './support/graphql-clients.js';
import { deleteKeys, describeWithRedis, testRedisUrl, uniquePrefix } from './support/redis.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/** Tenancy holds across replicas: two servers sharing one Redis, two tokens, the same job id. */
describeWithRedis('tenants across replicas', { timeout: 60_000 }, () => {
  const url = testRedisUrl(13) as string;
  const prefix = uniquePrefix('tenancy');
  const tokens = ['tenant-a-token-0123456789', 'tenant-b-token-0123456789'];
  let servers: TestServer[] = [];
  beforeAll(async () => {
    const environment = { REDIS_URL: url, API_TOKENS: tokens.join(','), QUOTA_IMAGES_PER_MINUTE: '0' };
    servers = await Promise.all([
      startTestServer(environment, { redisPrefix: prefix }),
      startTestServer(environment, { redisPrefix: prefix }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    const redis = new Redis(url);
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it("another token's job is unknown on every replica, and its id is free for the other tenant", async () => {
    const [a, b] = servers as [TestServer, TestServer];
    const as = (token: string) => ({ authorization: `Bearer ${token}` });
    const input = { jobId: 'same-id', images: images(2, 'tenant a') };
    const first = await postGraphQL(a.url, GENERATE_MUTATION, { input }, as(tokens[0] as string));
    expect(first.body.data?.generateWorksheetImages).toMatchObject({ id: 'same-id', status: 'COMPLETED' });

    const query = 'query { generationJob(id: "same-id") { id status results { requestId } } }';
    const fromB = await postGraphQL(b.url, query, undefined, as(tokens[1] as string));
    expect(fromB.body.data?.generationJob).toBeNull();
    const ownerOnB = await postGraphQL(b.url, query, undefined, as(tokens[0] as string));
    expect(ownerOnB.body.data?.generationJob).toMatchObject({ id: 'same-id', status: 'COMPLETED' });
    const picture = (token: string) =>
      fetch(`${b.url.replace(/\/graphql$/, '')}/images/same-id/0-0`, { headers: as(token) });
    expect((await picture(tokens[1] as string)).status).toBe(404);
    expect((await picture(tokens[0] as string)).status).toBe(200);

    // The same id with other images is no conflict for the other tenant: it is their own job.
    const other = { jobId: 'same-id', images: images(1, 'tenant b') };
    const second = await postGraphQL(b.url, GENERATE_MUTATION, { input: other }, as(tokens[1] as string));
    expect(second.body.data?.generateWorksheetImages).toMatchObject({ id: 'same-id', stats: { total: 1 } });
  });
});
