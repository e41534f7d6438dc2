/**
 * The upstream's rate limit, end to end: the real generation service and Together provider against the fake Together
 * on loopback, in token-bucket mode or with scripted 429s. Bounds are generous: a loaded machine can only make the
 * client later, never earlier, so "at least this long" and "no early arrival" hold however slow it runs.
 */
import { describe, expect, it } from 'vitest';
import type { BatchResult, ImageStatus } from '../src/generation/types.js';
import {
  type FakeBehavior,
  type FakeTogether,
  FAKE_TOGETHER_API_KEY,
  rateLimited,
  startFakeTogether,
} from './support/fake-together.js';
import { type GenerationHarness, imageRequests, useGenerationHarness } from './support/generation-harness.js';
import { GENERATE_MUTATION, images, postGraphQL, START_MUTATION } from './support/graphql-clients.js';
import { startTestServer } from './support/test-server.js';

const start = useGenerationHarness();

function statuses(batch: BatchResult): ImageStatus[] {
  return batch.results.map((result) => result.status);
}

function promptOf(request: { body: unknown }): string {
  const body = request.body as { prompt?: unknown } | undefined;
  return typeof body?.prompt === 'string' ? body.prompt : '';
}

/** The gap between the first two requests the fake received. */
function firstGap(fake: FakeTogether): number {
  const [first, second] = fake.requests;
  return (second?.receivedAt ?? Number.NaN) - (first?.receivedAt ?? Number.NaN);
}

/** One image through, so that the limiter has read the headers, then a fresh bucket and fresh counters. */
async function warmUp(harness: GenerationHarness): Promise<void> {
  const batch = await harness.service.generateBatch(imageRequests(1, 'warm-up picture'));
  expect(statuses(batch)).toEqual(['SUCCEEDED']);
  harness.fake.reset();
}

describe('a retry-after', () => {
  it('holds every request with the key: none arrives inside the window, under a token-bucket upstream', async () => {
    // No x-ratelimit-* headers: the limiter has only the 429s to go by. One at a time, so that every request the fake
    // sees was sent after the client had read the answers before it (a burst sent at once is not "early").
    const { service, fake } = await start({
      concurrency: 1,
      maxAttempts: 1,
      fake: { tokenBucket: { ratePerSecond: 4, burst: 1, headers: false } },
    });
    const started = performance.now();
    const batch = await service.generateBatch(imageRequests(6));
    expect(statuses(batch)).toEqual(new Array(6).fill('SUCCEEDED'));
    expect(fake.counters.responsesByStatus[429]).toBeGreaterThan(0);
    expect(fake.counters.earlyArrivals).toBe(0);
    expect(fake.requests.every((request) => !request.early)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  const date = (secondsAhead: number) => new Date((Math.ceil(Date.now() / 1000) + secondsAhead) * 1000).toUTCString();
  it.each([
    ['0', () => ({ 'retry-after': '0' })],
    ['negative', () => ({ 'retry-after': '-1' })],
    ['missing', () => ({})],
    ['an HTTP date in the past', () => ({ 'retry-after': new Date(Date.now() - 60_000).toUTCString() })],
  ])('of %s waits the 1 s floor, once', async (_name, headers) => {
    const { service, fake } = await start({ maxAttempts: 1 });
    fake.enqueue({ kind: 'status', status: 429, headers: headers() });
    const batch = await service.generateBatch(imageRequests(1));
    expect(batch.results[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(fake.requests).toHaveLength(2);
    expect(firstGap(fake)).toBeGreaterThanOrEqual(990);
  });

  it('given as an HTTP date is waited until that date', async () => {
    const { service, fake } = await start({ maxAttempts: 1 });
    const until = date(2);
    fake.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': until } });
    const batch = await service.generateBatch(imageRequests(1));
    expect(batch.results[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(fake.counters.earlyArrivals).toBe(0);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(until));
    expect(firstGap(fake)).toBeGreaterThanOrEqual(990);
  });

  it('that is huge fails the image RATE_LIMITED at once instead of waiting out its deadline', async () => {
    const { service, fake } = await start({ maxAttempts: 3, rateLimitMaxWaitMs: 60_000 });
    fake.enqueue(rateLimited({ retryAfterSeconds: 86_400 }));
    const started = performance.now();
    const batch = await service.generateBatch(imageRequests(1));
    expect(batch.results[0]).toMatchObject({ status: 'FAILED', error: { code: 'RATE_LIMITED', retryable: true } });
    expect(batch.results[0]?.error?.message).toMatch(/waiting longer than 60 s \(it asks for 300 s more\)/);
    expect(fake.requests).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('a 429 storm', () => {
  it.each([
    ['retry-after: 0', { 'retry-after': '0' }],
    ['retry-after: 1', { 'retry-after': '1' }],
  ])('with %s ends RATE_LIMITED at the deadline, with a bounded number of requests', async (_name, headers) => {
    const behavior: FakeBehavior = { kind: 'status', status: 429, headers };
    const { service, fake } = await start({
      concurrency: 1,
      maxAttempts: 1,
      rateLimitMaxWaitMs: 3_000,
      fake: { behavior },
    });
    const started = performance.now();
    const batch = await service.generateBatch(imageRequests(2));
    const elapsed = performance.now() - started;
    for (const result of batch.results) {
      expect(result).toMatchObject({ status: 'FAILED', error: { code: 'RATE_LIMITED', retryable: true } });
    }
    // At most one a second until the three seconds are spent, or until the next pause would pass them.
    expect(fake.requests.length).toBeLessThanOrEqual(5);
    expect(fake.counters.earlyArrivals).toBe(0);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(15_000);
  });
});

describe('pacing', () => {
  it('follows the rate the x-ratelimit-* headers give, so that the upstream does not have to refuse', async () => {
    const harness = await start({
      concurrency: 16,
      maxAttempts: 1,
      fake: { tokenBucket: { ratePerSecond: 10, burst: 2 } },
    });
    await warmUp(harness);
    const { ratePerSecond } = harness.limiter.snapshot();
    expect(ratePerSecond).toBeGreaterThan(9);
    expect(ratePerSecond).toBeLessThanOrEqual(10);
    const batch = await harness.service.generateBatch(imageRequests(12));
    expect(statuses(batch)).toEqual(new Array(12).fill('SUCCEEDED'));
    const { fake } = harness;
    expect(fake.counters.responsesByStatus[429] ?? 0).toBeLessThanOrEqual(2);
    expect(fake.counters.earlyArrivals).toBe(0);
    // Twelve requests at 10/s from a bucket of two: at least a second from the first to the last.
    const arrivals = fake.requests.map((request) => request.receivedAt);
    expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeGreaterThanOrEqual(900);
  });
});

describe('the limit', () => {
  it('grows back once the pressure ends, one logged step at a time', async () => {
    const harness = await start({
      concurrency: 8,
      maxAttempts: 1,
      budget: { growthHoldMs: 200 },
      fake: { latencyMs: 20, rateLimit: { maxInFlight: 2, retryAfterMs: 100 } },
    });
    const pressed = await harness.service.generateBatch(imageRequests(8, 'pressed picture'));
    expect(pressed.stats.successful).toBe(8);
    const lowered = harness.limiter.concurrency;
    expect(lowered).toBeLessThan(8);
    harness.fake.setRateLimit(undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const calm = await harness.service.generateBatch(imageRequests(70, 'calm picture'));
    expect(calm.stats.successful).toBe(70);
    expect(harness.limiter.concurrency).toBe(8);
    const steps = harness
      .logEntries()
      .filter((entry) => entry.limit === 'concurrency' && entry.why === 'requests passed')
      .map((entry) => [entry.from, entry.to]);
    expect(steps.at(-1)).toEqual([7, 8]);
    expect(steps.length).toBeGreaterThanOrEqual(8 - lowered);
  });
});

describe('fairness under a rate limit', () => {
  /** A 10/s upstream with a bucket of one, read from its headers, so that the limiter alone decides the order. */
  async function startPaced(): Promise<GenerationHarness> {
    // Paced at 70% of the rate: a loaded machine's jitter in delivery must not turn into 429s that reorder the line.
    const harness = await start({
      concurrency: 16,
      budget: { pacingMargin: 0.7 },
      fake: { tokenBucket: { ratePerSecond: 10, burst: 1 } },
    });
    await warmUp(harness);
    return harness;
  }

  it('takes turns across two jobs: a small batch that comes second is not stuck behind a big one', async () => {
    const harness = await startPaced();
    const big = harness.service.generateBatch(imageRequests(8, 'big batch picture'), { batchId: 'big' });
    const small = harness.service.generateBatch(imageRequests(3, 'small batch picture'), { batchId: 'small' });
    const [bigBatch, smallBatch] = await Promise.all([big, small]);
    expect(bigBatch.stats.successful + smallBatch.stats.successful).toBe(11);
    const order = harness.fake.requests.map((request) => promptOf(request).split(' ')[0]);
    // big, small, big, small, big, small, big...: the small batch's last request is the sixth.
    expect(order.lastIndexOf('small')).toBeLessThanOrEqual(6);
  });

  it('takes turns across tenants first: one client’s many jobs do not push back another client’s batch', async () => {
    const harness = await startPaced();
    const busy = Array.from({ length: 6 }, (_, job) =>
      harness.service.generateBatch(imageRequests(1, `busy client picture ${job}`), {
        batchId: `busy-${job}`,
        tenant: 'busy client',
      }),
    );
    const teacher = harness.service.generateBatch(imageRequests(3, 'teacher picture'), {
      batchId: 'worksheet',
      tenant: 'teacher',
    });
    const batches = await Promise.all([...busy, teacher]);
    expect(batches.reduce((sum, batch) => sum + batch.stats.successful, 0)).toBe(9);
    const order = harness.fake.requests.map((request) => promptOf(request).split(' ')[0]);
    // Turns by job alone would put the teacher's first image seventh; by tenant it goes second.
    expect(order.indexOf('teacher')).toBeLessThanOrEqual(2);
    expect(order.lastIndexOf('teacher')).toBeLessThanOrEqual(6);
  });
});

describe('through the whole server', () => {
  it('takes turns across access tokens, and shows the learned rate and limit on /metrics', async () => {
    const fake = await startFakeTogether({ tokenBucket: { ratePerSecond: 5, burst: 1 } });
    const server = await startTestServer({
      TOGETHER_API_KEY: FAKE_TOGETHER_API_KEY,
      TOGETHER_BASE_URL: fake.url,
      API_TOKENS: 'busy-client-token-0001,teacher-token-0002',
      QUOTA_IMAGES_PER_MINUTE: '0',
    });
    const as = (token: string) => ({ authorization: `Bearer ${token}` });
    try {
      const warm = await postGraphQL(
        server.url,
        GENERATE_MUTATION,
        { input: { images: images(1, 'warm-up') } },
        as('teacher-token-0002'),
      );
      expect(warm.body.errors).toBeUndefined();
      fake.reset();
      // The busy client queues six one-image jobs; then the teacher asks for a three-image worksheet.
      for (let job = 0; job < 6; job += 1) {
        const started = await postGraphQL(
          server.url,
          START_MUTATION,
          { input: { images: images(1, `busy ${job}`) } },
          as('busy-client-token-0001'),
        );
        expect(started.body.errors).toBeUndefined();
      }
      const worksheet = await postGraphQL<{ generateWorksheetImages: { results: Array<{ status: string }> } }>(
        server.url,
        GENERATE_MUTATION,
        { input: { images: images(3, 'teacher') } },
        as('teacher-token-0002'),
      );
      expect(worksheet.body.data?.generateWorksheetImages.results.map((result) => result.status)).toEqual([
        'SUCCEEDED',
        'SUCCEEDED',
        'SUCCEEDED',
      ]);
      const order = fake.requests
        .filter((request) => request.status === 200)
        .map((request) => promptOf(request).split(' ')[0]);
      // Turns by job alone would send the teacher's first image seventh.
      expect(order.indexOf('teacher')).toBeLessThanOrEqual(2);
      expect(order.lastIndexOf('teacher')).toBeLessThanOrEqual(8);

      const metrics = await (
        await fetch(server.url.replace(/\/graphql$/, '/metrics'), { headers: as('teacher-token-0002') })
      ).text();
      const rate = Number(/^worksheet_images_upstream_rate_per_second (\S+)$/m.exec(metrics)?.[1]);
      expect(rate).toBeGreaterThan(4);
      expect(rate).toBeLessThanOrEqual(5);
      expect(metrics).toMatch(/^worksheet_images_upstream_concurrency_limit 16$/m);
      expect(server.logs()).toContain('"limit":"rate"');
    } finally {
      await server.close();
      await fake.close();
    }
  });
});

describe('cancellation while the key is paused', () => {
  it('ends the refused image and a batch waiting behind the pause promptly, sending nothing more', async () => {
    const { service, fake, limiter } = await start({
      concurrency: 4,
      rateLimitMaxWaitMs: 60_000,
      fake: { latencyMs: 50 },
    });
    fake.enqueue(rateLimited({ retryAfterSeconds: 30 }));
    const first = new AbortController();
    let retrying = false;
    const firstBatch = service.generateBatch(imageRequests(3, 'first picture'), {
      signal: first.signal,
      onProgress: (event) => {
        if (event.image.status === 'RETRYING') retrying = true;
      },
    });
    await expect.poll(() => retrying, { timeout: 5_000 }).toBe(true);
    const second = new AbortController();
    const secondBatch = service.generateBatch(imageRequests(2, 'second picture'), { signal: second.signal });
    const started = performance.now();
    first.abort();
    second.abort();
    const [firstResult, secondResult] = await Promise.all([firstBatch, secondBatch]);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(firstResult.status).toBe('CANCELLED');
    expect(statuses(firstResult).filter((status) => status === 'CANCELLED')).toHaveLength(1);
    expect(statuses(secondResult)).toEqual(['CANCELLED', 'CANCELLED']);
    expect(secondResult.results.map((result) => result.attempts)).toEqual([0, 0]);
    expect(fake.requests).toHaveLength(3);
    expect(limiter.pendingCount).toBe(0);
  });
});
