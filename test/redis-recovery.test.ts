import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { parseConfig } from '../src/config.js';
import { queuedResult } from '../src/generation/batch-tracker.js';
import { createGenerationService } from '../src/generation/create-generation-service.js';
import { JobManager } from '../src/jobs/job-manager.js';
import { RedisJobStore } from '../src/jobs/redis-job-store.js';
import { connectRedisMode } from '../src/jobs/redis-mode.js';
import { createLogger } from '../src/logger.js';
import { FAKE_TOGETHER_API_KEY, type FakeTogether, startFakeTogether } from './support/fake-together.js';
import { createGatedProvider, type GatedProvider } from './support/gated-provider.js';
import { images, postGraphQL, START_MUTATION } from './support/graphql-clients.js';
import { type OwnRedis, startOwnRedis } from './support/own-redis.js';
import { describeWithRedis, uniquePrefix } from './support/redis.js';
import { startTestServer, type TestServer } from './support/test-server.js';
import { randomJpegOfSize } from './support/test-images.js';

const logger = createLogger({ level: 'silent', secrets: [] });
const JOB_QUERY = /* GraphQL */ `
  query Job($id: ID!) { generationJob(id: $id) { status stats { total successful cancelled pending } } }
`;

/**
 * The shared mode's recovery paths: a job counted once when it finishes, an enqueue that fails, a cancellation whose
 * broadcast was lost, a task re-added after it ran, and a status poll that reads no pictures. A redis-server of the
 * file's own (tests here kill its pub/sub clients and read its traffic counters), each test under its own prefix.
 */
describeWithRedis('the shared mode recovers', { timeout: 60_000 }, () => {
  let redis: OwnRedis;
  let admin: Redis;
  const servers: TestServer[] = [];
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    redis = await startOwnRedis();
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.kill();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(servers.splice(0).map((server) => server.close()));
    for (const close of closers.splice(0)) await close();
  });

  async function server(prefix: string, overrides: { provider?: GatedProvider } = {}, environment = {}) {
    const started = await startTestServer(
      { REDIS_URL: redis.url, QUOTA_IMAGES_PER_MINUTE: '0', LOG_LEVEL: 'warn', ...environment },
      { redisPrefix: prefix, ...overrides },
    );
    servers.push(started);
    const ready = () => fetch(started.url.replace(/\/graphql$/, '/ready')).then((response) => response.status);
    await expect.poll(ready, { timeout: 10_000 }).toBe(200);
    return started;
  }

  /** A replica's parts without the HTTP layer, so that a test can set how often it reads cancel flags. */
  async function replicaParts(prefix: string, provider: GatedProvider, cancelCheckMs: number) {
    const config = parseConfig({ GENERATION_CONCURRENCY: '4' });
    const parts = connectRedisMode({
      url: redis.url,
      logger,
      prefix,
      retentionMs: 60_000,
      maxRetained: 100,
      maxRetainedBytes: 1e9,
      concurrency: 4,
      upstreamTimeoutMs: 10_000,
      cancelCheckMs,
    });
    const service = createGenerationService(config, provider, logger, undefined, parts.budget);
    const mode = parts.build(service);
    await mode.start();
    closers.push(() => mode.close());
    const jobs = new JobManager({ service, store: mode.store, runner: mode.queue, logger, subscribeWaitMs: 1000 });
    return { mode, jobs };
  }

  const metric = async (target: TestServer, status: string) => {
    const text = await (await fetch(target.url.replace(/\/graphql$/, '/metrics'))).text();
    const line = text
      .split('\n')
      .find((row) => row.startsWith(`worksheet_images_jobs_finished_total{status="${status}"}`));
    return Number(line?.split(' ')[1] ?? Number.NaN);
  };

  it('counts jobs_finished_total once per job, on the replica that finished it, by its final status', async () => {
    const prefix = uniquePrefix('finished');
    const [providerA, providerB] = [createGatedProvider(), createGatedProvider()];
    providerA.open();
    providerB.open();
    const [a, b] = [await server(prefix, { provider: providerA }), await server(prefix, { provider: providerB })];
    for (const [index, target] of [a, b, a].entries()) {
      const input = { jobId: `done-${index}`, images: images(3, `done ${index}`) };
      expect((await postGraphQL(target.url, START_MUTATION, { input })).body.errors).toBeUndefined();
    }
    for (const index of [0, 1, 2]) {
      await expect
        .poll(async () => (await postGraphQL(a.url, JOB_QUERY, { id: `done-${index}` })).body.data?.generationJob)
        .toMatchObject({ status: 'COMPLETED' });
    }

    // Cancelled while its images run: the replica recording the last image's CANCELLED finishes it.
    providerA.shut();
    providerB.shut();
    await postGraphQL(b.url, START_MUTATION, { input: { jobId: 'stopped', images: images(2, 'stopped') } });
    await expect.poll(() => providerA.waiting.length + providerB.waiting.length).toBe(2);
    const cancel = `mutation($id: ID!) { cancelGeneration(jobId: $id) { status } }`;
    expect((await postGraphQL(a.url, cancel, { id: 'stopped' })).body.data).toEqual({
      cancelGeneration: { status: 'CANCELLED' },
    });
    // Cancelled before any image started (its creator died before enqueueing them): the cancel call finishes it.
    // The store only creates and cancels here: it follows no stream.
    const store = new RedisJobStore({ redis: admin, streams: undefined as never, retentionMs: 60_000, prefix });
    const size = { width: 256, height: 256 };
    const queued = ['0-0', '0-1'].map((id) =>
      queuedResult({ id, dimensions: size, requestedDimensions: size, deduplicated: false }),
    );
    const stats = { total: 2, successful: 0, failed: 0, cancelled: 0, pending: 2, retries: 0, durationMs: 0 };
    const job = { id: 'local/never-started', owner: 'anonymous', fingerprint: 'f', status: 'RUNNING' as const };
    await store.create({ ...job, results: queued, stats, createdAt: new Date(), finishedAt: null });
    expect((await postGraphQL(b.url, cancel, { id: 'never-started' })).body.data).toEqual({
      cancelGeneration: { status: 'CANCELLED' },
    });

    const completed = (await metric(a, 'COMPLETED')) + (await metric(b, 'COMPLETED'));
    const cancelled = (await metric(a, 'CANCELLED')) + (await metric(b, 'CANCELLED'));
    console.log(
      `jobs_finished_total: A COMPLETED ${await metric(a, 'COMPLETED')} CANCELLED ${await metric(a, 'CANCELLED')}, B COMPLETED ${await metric(b, 'COMPLETED')} CANCELLED ${await metric(b, 'CANCELLED')}`,
    );
    expect({ completed, cancelled }).toEqual({ completed: 3, cancelled: 2 });
  });

  it('an enqueue that fails answers SERVICE_UNAVAILABLE and forgets the job: the same request again runs it', async () => {
    const prefix = uniquePrefix('enqueue');
    const provider = createGatedProvider();
    provider.open();
    const a = await server(prefix, { provider });
    vi.spyOn(Queue.prototype, 'addBulk').mockRejectedValueOnce(new Error('Connection is closed.'));
    const input = { jobId: 'retried', images: images(3, 'retried') };
    const failed = await postGraphQL(a.url, START_MUTATION, { input });
    expect(failed.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect((await postGraphQL(a.url, JOB_QUERY, { id: 'retried' })).body.data).toEqual({ generationJob: null });

    expect((await postGraphQL(a.url, START_MUTATION, { input })).body.errors).toBeUndefined();
    await expect
      .poll(async () => (await postGraphQL(a.url, JOB_QUERY, { id: 'retried' })).body.data?.generationJob, {
        timeout: 10_000,
      })
      .toMatchObject({ status: 'COMPLETED', stats: { successful: 3 } });
    expect(provider.calls).toBe(3);
  });

  it('a job left unqueued (its creator could not forget it) is enqueued by the same request after a short grace', async () => {
    const prefix = uniquePrefix('unqueued');
    const provider = createGatedProvider();
    provider.open();
    const a = await server(prefix, { provider });
    vi.spyOn(Queue.prototype, 'addBulk').mockRejectedValueOnce(new Error('Connection is closed.'));
    vi.spyOn(RedisJobStore.prototype, 'discardUnqueued').mockRejectedValueOnce(new Error('Connection is closed.'));
    const input = { jobId: 'stuck', images: images(2, 'stuck') };
    const createdAt = performance.now();
    expect((await postGraphQL(a.url, START_MUTATION, { input })).body.errors?.[0]?.extensions?.code).toBe(
      'SERVICE_UNAVAILABLE',
    );
    // Within the grace the job is answered as it is: its creator may still be enqueueing it.
    const early = await postGraphQL(a.url, START_MUTATION, { input });
    expect(early.body.data?.startWorksheetImages).toMatchObject({ status: 'RUNNING' });

    // A client retrying, as it would after SERVICE_UNAVAILABLE, gets the job run once the grace is over.
    await expect
      .poll(
        async () => {
          await postGraphQL(a.url, START_MUTATION, { input });
          return (await postGraphQL(a.url, JOB_QUERY, { id: 'stuck' })).body.data?.generationJob;
        },
        { timeout: 20_000, interval: 500 },
      )
      .toMatchObject({ status: 'COMPLETED', stats: { successful: 2 } });
    console.log(`an unqueued job ran ${Math.round(performance.now() - createdAt)} ms after its creation`);
    expect(provider.calls).toBe(2);
  });

  it('a task re-added after its images were recorded skips the upstream call', async () => {
    const prefix = uniquePrefix('readded');
    const provider = createGatedProvider();
    provider.open();
    const { mode, jobs } = await replicaParts(prefix, provider, 2000);
    const requests = images(2, 'readded');
    const started = await jobs.start({ jobId: 'readded', images: requests });
    expect((await started.finished).status).toBe('COMPLETED');
    expect(provider.calls).toBe(2);

    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('images', { connection, prefix: `${prefix}:bull` });
    closers.push(async () => {
      await queue.close();
      connection.disconnect();
    });
    await queue.pause();
    await mode.queue.enqueue('local/readded', requests, 'anonymous');
    // Both tasks are back in the queue (their ids were freed when they completed).
    expect(await queue.getJobCountByTypes('wait')).toBe(2);
    await queue.resume();
    const left = () => queue.getJobCountByTypes('wait', 'active', 'prioritized', 'delayed');
    await expect.poll(left, { timeout: 10_000 }).toBe(0);
    expect(provider.calls).toBe(2);
  });

  it('a cancellation whose broadcast was lost reaches the running images within the check interval', async () => {
    const provider = createGatedProvider();
    const { mode, jobs } = await replicaParts(uniquePrefix('quiet'), provider, 500);
    const started = await jobs.start({ jobId: 'quiet', images: images(2, 'quiet') });
    await provider.whenWaiting(2);
    const flaggedAt = performance.now();
    // The flag alone, as a replica whose publish never reached this one leaves it.
    expect(await mode.store.cancel('local/quiet')).toBe(true);
    const job = await started.finished;
    console.log(`cancel flag without broadcast noticed in ${Math.round(performance.now() - flaggedAt)} ms`);
    expect(job).toMatchObject({ status: 'CANCELLED', stats: { cancelled: 2, pending: 0 } });
    expect(provider.waiting).toHaveLength(0);
  });

  it('a cancellation published while the subscriber was away is found when it reconnects', async () => {
    const provider = createGatedProvider();
    // A check interval far longer than the test, so that only the reconnection can notice the flag.
    const { mode, jobs } = await replicaParts(uniquePrefix('reconnect'), provider, 600_000);
    const started = await jobs.start({ jobId: 'away', images: images(2, 'away') });
    await provider.whenWaiting(2);
    expect(await mode.store.cancel('local/away')).toBe(true);
    const killedAt = performance.now();
    await admin.client('KILL', 'TYPE', 'pubsub');
    const job = await started.finished;
    console.log(`cancel flag found ${Math.round(performance.now() - killedAt)} ms after the subscriber was cut`);
    expect(job).toMatchObject({ status: 'CANCELLED', stats: { cancelled: 2, pending: 0 } });
  });

  it('a status poll or a query for url reads no picture bytes from Redis; image and byteLength do', async () => {
    const prefix = uniquePrefix('pictures');
    const picture = randomJpegOfSize(150_000);
    const fake: FakeTogether = await startFakeTogether({ imageBytes: () => picture });
    closers.push(() => fake.close());
    const a = await server(prefix, {}, { TOGETHER_API_KEY: FAKE_TOGETHER_API_KEY, TOGETHER_BASE_URL: fake.url });
    const input = { jobId: 'heavy', images: images(20, 'heavy') };
    expect((await postGraphQL(a.url, START_MUTATION, { input })).body.errors).toBeUndefined();
    await expect
      .poll(async () => (await postGraphQL(a.url, JOB_QUERY, { id: 'heavy' })).body.data?.generationJob, {
        timeout: 20_000,
      })
      .toMatchObject({ status: 'COMPLETED', stats: { successful: 20 } });

    const redisBytesFor = async (query: string) => {
      const sent = async () => Number(/total_net_output_bytes:(\d+)/.exec(await admin.info('stats'))?.[1]);
      const before = await sent();
      const answer = await postGraphQL(a.url, query, { id: 'heavy' });
      expect(answer.body.errors).toBeUndefined();
      return { bytes: (await sent()) - before, answer: answer.body.data as { generationJob: { results: unknown[] } } };
    };
    const status = await redisBytesFor(JOB_QUERY);
    const urls = await redisBytesFor(
      `query($id: ID!) { generationJob(id: $id) { results { requestId url mimeType } } }`,
    );
    const lengths = await redisBytesFor(`query($id: ID!) { generationJob(id: $id) { results { byteLength } } }`);
    const inline = await redisBytesFor(
      `query($id: ID!) { ...J } fragment J on Query { generationJob(id: $id) { results { ... on ImageResult { image } } } }`,
    );
    console.log(
      `Redis bytes sent for one read of a 20-image job (150 kB pictures): status ${status.bytes}, url ${urls.bytes}, byteLength ${lengths.bytes}, image ${inline.bytes}`,
    );
    expect(urls.answer.generationJob.results[3]).toEqual({
      requestId: '0-3',
      url: '/images/heavy/0-3',
      mimeType: 'image/jpeg',
    });
    expect(lengths.answer.generationJob.results[0]).toEqual({ byteLength: picture.length });
    expect(status.bytes).toBeLessThan(100_000);
    expect(urls.bytes).toBeLessThan(100_000);
    expect(lengths.bytes).toBeGreaterThan(20 * picture.length);
    expect(inline.bytes).toBeGreaterThan(20 * picture.length);
  });
});
