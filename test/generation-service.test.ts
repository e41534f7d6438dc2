import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/generation/input-error.js';
import {
  TERMINAL_STATUSES,
  type BatchResult,
  type ImageRequest,
  type ImageStatus,
  type ProgressEvent,
} from '../src/generation/types.js';
import {
  expectedImageBytes,
  flagged,
  rateLimited,
  type FakeBehavior,
  type FakeGenerationRequest,
  type FakeTogether,
} from './support/fake-together.js';
import { imageRequests, useGenerationHarness } from './support/generation-harness.js';

const start = useGenerationHarness();

/** Every image of the batch has ended: succeeded, failed or cancelled, and the stats agree. */
function expectEveryImageTerminal(batch: BatchResult, total: number): void {
  expect(batch.results).toHaveLength(total);
  for (const result of batch.results)
    expect(TERMINAL_STATUSES.has(result.status), `${result.id} is ${result.status}`).toBe(true);
  expect(batch.stats.total).toBe(total);
  expect(batch.stats.pending).toBe(0);
  expect(batch.stats.successful + batch.stats.failed + batch.stats.cancelled).toBe(total);
}

function promptOf(request: { body: unknown }): string | undefined {
  const body = request.body as { prompt?: unknown } | undefined;
  return typeof body?.prompt === 'string' ? body.prompt : undefined;
}

function requestsFor(fake: FakeTogether, prompt: string) {
  return fake.requests.filter((request) => promptOf(request) === prompt);
}

/** A behaviorFor rule: the first `times` requests for `prompt` get `behavior`, later ones fall through. */
function failFirst(rules: Record<string, { times: number; behavior: FakeBehavior }>) {
  const seen = new Map<string, number>();
  return (request: FakeGenerationRequest): FakeBehavior | undefined => {
    const rule = rules[request.prompt];
    if (!rule) return undefined;
    const count = (seen.get(request.prompt) ?? 0) + 1;
    seen.set(request.prompt, count);
    return count <= rule.times ? rule.behavior : undefined;
  };
}

function recordProgress() {
  const events: ProgressEvent[] = [];
  return {
    events,
    onProgress: (event: ProgressEvent) => {
      events.push(event);
    },
    statusesOf: (id: string): ImageStatus[] =>
      events.filter((event) => event.image.id === id).map((event) => event.image.status),
  };
}

const status = (code: number): FakeBehavior => ({ kind: 'status', status: code });

describe('a batch against a healthy upstream', () => {
  it('generates every image, returns them in request order, and counts them in the stats', async () => {
    const { service, fake } = await start({
      concurrency: 4,
      fake: { latencyMs: (request) => (request.prompt.endsWith(' 0') ? 150 : 20) },
    });
    const requests = imageRequests(10);

    const batch = await service.generateBatch(requests);

    expectEveryImageTerminal(batch, 10);
    expect(batch.status).toBe('COMPLETED');
    expect(batch.results.map((result) => result.id)).toEqual(requests.map((request) => request.id));
    batch.results.forEach((result, index) => {
      expect(requestsFor(fake, requests[index]?.prompt ?? '')).toHaveLength(1);
      expect(result).toMatchObject({ status: 'SUCCEEDED', attempts: 1, error: null, deduplicated: false });
      expect(result.image?.mimeType).toBe('image/jpeg');
      expect(result.image?.bytes.equals(expectedImageBytes(fakeRequestFor(requests[index])))).toBe(true);
    });
    expect(batch.stats).toMatchObject({ total: 10, successful: 10, failed: 0, cancelled: 0, pending: 0, retries: 0 });
    expect(batch.stats.durationMs).toBeGreaterThan(0);
    expect(fake.requests).toHaveLength(10);
  });

  it('generates a single image with the same machinery', async () => {
    const { service, fake } = await start();
    const result = await service.generateImage({
      id: 'only',
      prompt: 'a lighthouse at dusk',
      width: 768,
      height: 512,
      seed: 3,
    });
    expect(result).toMatchObject({
      id: 'only',
      status: 'SUCCEEDED',
      attempts: 1,
      dimensions: { width: 768, height: 512 },
    });
    expect(fake.requests[0]?.body).toMatchObject({ seed: 3, width: 768, height: 512 });
  });
});

function fakeRequestFor(request: ImageRequest | undefined): FakeGenerationRequest {
  return {
    model: 'black-forest-labs/FLUX.1-schnell',
    prompt: request?.prompt ?? '',
    width: request?.width ?? 0,
    height: request?.height ?? 0,
    steps: 4,
    seed: request?.seed ?? undefined,
    n: 1,
    responseFormat: 'base64',
    outputFormat: 'jpeg',
  };
}

describe('the concurrency limit', () => {
  it('never lets more requests be in flight at the upstream than the limit', async () => {
    const { service, fake } = await start({ concurrency: 3, fake: { latencyMs: 100 } });
    const running = service.generateBatch(imageRequests(10));
    await fake.whenInFlight(3);
    const batch = await running;
    expectEveryImageTerminal(batch, 10);
    expect(batch.stats.successful).toBe(10);
    expect(fake.maxInFlight).toBe(3);
  });

  it('is shared by two batches running at once on one service', async () => {
    const { service, fake } = await start({ concurrency: 3, fake: { latencyMs: 100 } });
    const first = service.generateBatch(imageRequests(6, 'first batch picture'));
    const second = service.generateBatch(imageRequests(6, 'second batch picture'));
    await fake.whenInFlight(3);
    const batches = await Promise.all([first, second]);
    for (const batch of batches) {
      expectEveryImageTerminal(batch, 6);
      expect(batch.stats.successful).toBe(6);
    }
    expect(fake.requests).toHaveLength(12);
    expect(fake.maxInFlight).toBeLessThanOrEqual(3);
  });

  it('holds while images are being retried', async () => {
    const rules = Object.fromEntries(
      imageRequests(8).map((request) => [request.prompt, { times: 1, behavior: status(503) }]),
    );
    const { service, fake } = await start({ concurrency: 2, fake: { latencyMs: 30, behaviorFor: failFirst(rules) } });
    const batch = await service.generateBatch(imageRequests(8));
    expectEveryImageTerminal(batch, 8);
    expect(batch.stats.successful).toBe(8);
    expect(fake.maxInFlight).toBeLessThanOrEqual(2);
  });
});

describe('retries', () => {
  it.each([
    ['HTTP 500', status(500)],
    ['HTTP 503', status(503)],
    ['HTTP 504', status(504)],
    ['HTTP 520', status(520)],
    ['HTTP 524', status(524)],
    ['HTTP 529', status(529)],
    ['a connection reset', { kind: 'reset' }],
    ['a connection cut mid-body', { kind: 'resetMidBody' }],
    ['malformed JSON', { kind: 'malformedJson' }],
    ['an HTML page instead of JSON', { kind: 'wrongContentType' }],
  ] as const)('retries after %s and succeeds on the second attempt', async (_name, behavior) => {
    const { service, fake } = await start({ maxAttempts: 3 });
    fake.enqueue(behavior);
    const batch = await service.generateBatch(imageRequests(1));
    expectEveryImageTerminal(batch, 1);
    expect(batch.results[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 2, error: null });
    expect(batch.stats.retries).toBe(1);
    expect(fake.requests).toHaveLength(2);
  });

  it('counts every retry of the batch in stats.retries', async () => {
    const [twice, once, never] = imageRequests(3).map((request) => request.prompt) as [string, string, string];
    const { service, fake } = await start({
      maxAttempts: 3,
      fake: {
        behaviorFor: failFirst({
          [twice]: { times: 2, behavior: status(503) },
          [once]: { times: 1, behavior: { kind: 'reset' } },
        }),
      },
    });
    const batch = await service.generateBatch(imageRequests(3));
    expectEveryImageTerminal(batch, 3);
    expect(batch.results.map((result) => [result.status, result.attempts])).toEqual([
      ['SUCCEEDED', 3],
      ['SUCCEEDED', 2],
      ['SUCCEEDED', 1],
    ]);
    expect(batch.stats.retries).toBe(3);
    expect(requestsFor(fake, twice)).toHaveLength(3);
    expect(requestsFor(fake, once)).toHaveLength(2);
    expect(requestsFor(fake, never)).toHaveLength(1);
  });

  it.each([
    ['HTTP 503', status(503), 'UPSTREAM_UNAVAILABLE'],
    ['HTTP 500', status(500), 'UPSTREAM_UNAVAILABLE'],
    ['a connection reset', { kind: 'reset' }, 'UPSTREAM_UNAVAILABLE'],
  ] as const)(
    'fails with the last code, marked retryable, once maxAttempts are spent on %s',
    async (_name, behavior, code) => {
      const { service, fake } = await start({ maxAttempts: 3, fake: { behavior } });
      const batch = await service.generateBatch(imageRequests(1));
      expectEveryImageTerminal(batch, 1);
      const [result] = batch.results;
      expect(result).toMatchObject({ status: 'FAILED', attempts: 3, image: null, error: { code, retryable: true } });
      expect(result?.error?.message).toContain('Gave up after 3 attempts');
      expect(batch.stats).toMatchObject({ failed: 1, retries: 2 });
      expect(fake.requests).toHaveLength(3);
    },
  );

  it.each([
    [400, 'INVALID_REQUEST'],
    [401, 'UPSTREAM_AUTH'],
    [402, 'OUT_OF_CREDITS'],
    [404, 'INVALID_REQUEST'],
    [422, 'CONTENT_FLAGGED'],
  ] as const)('does not retry HTTP %i: one request, FAILED %s, not retryable', async (code, errorCode) => {
    const { service, fake } = await start({ maxAttempts: 3, fake: { behavior: status(code) } });
    const batch = await service.generateBatch(imageRequests(1));
    expectEveryImageTerminal(batch, 1);
    expect(batch.results[0]).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: errorCode, retryable: false },
    });
    expect(batch.stats.retries).toBe(0);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('a flagged prompt', () => {
  it('fails only its own image; the others succeed', async () => {
    const requests = imageRequests(5);
    const flaggedPrompt = requests[2]?.prompt ?? '';
    const { service, fake } = await start({
      maxAttempts: 3,
      fake: { behaviorFor: (request) => (request.prompt === flaggedPrompt ? flagged() : undefined) },
    });
    const batch = await service.generateBatch(requests);
    expectEveryImageTerminal(batch, 5);
    expect(batch.results.map((result) => result.status)).toEqual([
      'SUCCEEDED',
      'SUCCEEDED',
      'FAILED',
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
    expect(batch.results[2]).toMatchObject({
      attempts: 1,
      image: null,
      error: { code: 'CONTENT_FLAGGED', retryable: false },
    });
    expect(requestsFor(fake, flaggedPrompt)).toHaveLength(1);
    expect(batch.stats).toMatchObject({ successful: 4, failed: 1, retries: 0 });
    expect(batch.status).toBe('COMPLETED');
  });
});

describe('a refused key or account stops the batch', () => {
  it.each([
    ['a 401', 'UPSTREAM_AUTH', { fake: { behavior: status(401) } }],
    ['a wrong key', 'UPSTREAM_AUTH', { apiKey: 'a-key-the-upstream-does-not-know' }],
    ['a 402', 'OUT_OF_CREDITS', { fake: { behavior: status(402) } }],
  ] as const)('after %s only one request is sent and every image fails with %s', async (_name, code, options) => {
    const { service, fake } = await start({ concurrency: 1, maxAttempts: 3, ...options });
    const batch = await service.generateBatch(imageRequests(5));
    expectEveryImageTerminal(batch, 5);
    expect(fake.requests).toHaveLength(1);
    for (const result of batch.results) {
      expect(result).toMatchObject({ status: 'FAILED', image: null, error: { code, retryable: false } });
    }
    expect(batch.results.map((result) => result.attempts)).toEqual([1, 0, 0, 0, 0]);
    expect(batch.results[1]?.error?.message).toMatch(/^Not generated: /);
    expect(batch.stats).toMatchObject({ failed: 5, successful: 0, retries: 0 });
  });

  it('abandons the requests already in flight and fails their images with the same code', async () => {
    const requests = imageRequests(6);
    const refusedPrompt = requests[0]?.prompt ?? '';
    const { service, fake } = await start({
      concurrency: 3,
      fake: {
        latencyMs: (request) => (request.prompt === refusedPrompt ? 200 : 10_000),
        behaviorFor: (request) => (request.prompt === refusedPrompt ? status(402) : undefined),
      },
    });
    const batch = await service.generateBatch(requests);
    expectEveryImageTerminal(batch, 6);
    for (const result of batch.results)
      expect(result).toMatchObject({ status: 'FAILED', error: { code: 'OUT_OF_CREDITS' } });
    expect(fake.requests.length).toBeLessThanOrEqual(3);
    expect(batch.results.slice(3).map((result) => result.attempts)).toEqual([0, 0, 0]);
    expect(fake.counters.responsesByStatus[200]).toBeUndefined();
  });
});

describe('rate limits', () => {
  it('waits as long as retry-after-ms asks before trying again', async () => {
    const { service, fake } = await start();
    fake.enqueue(rateLimited({ retryAfterMs: 300 }));
    const progress = recordProgress();
    const batch = await service.generateBatch(imageRequests(1), { onProgress: progress.onProgress });
    const retrying = progress.events.find((event) => event.image.status === 'RETRYING');
    expect(retrying?.image).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    // What is left of the key's pause when the image goes back in line.
    expect(retrying?.image.retryInMs).toBeGreaterThan(200);
    expect(retrying?.image.retryInMs).toBeLessThanOrEqual(300);
    expectEveryImageTerminal(batch, 1);
    expect(batch.results[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    const [first, second] = fake.requests;
    expect(fake.requests).toHaveLength(2);
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(290);
  });

  it('waits as long as retry-after (in seconds) asks', async () => {
    const { service, fake } = await start();
    fake.enqueue(rateLimited({ retryAfterSeconds: 1 }));
    const batch = await service.generateBatch(imageRequests(1));
    expect(batch.results[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    const [first, second] = fake.requests;
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('does not spend attempts on 429s', async () => {
    const { service, fake } = await start({ maxAttempts: 1 });
    fake.enqueue(
      rateLimited({ retryAfterMs: 20 }),
      rateLimited({ retryAfterMs: 20 }),
      rateLimited({ retryAfterMs: 20 }),
    );
    const batch = await service.generateBatch(imageRequests(1));
    expectEveryImageTerminal(batch, 1);
    expect(batch.results[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 4, error: null });
    expect(batch.stats.retries).toBe(3);
    expect(fake.requests).toHaveLength(4);
  });

  it('backs off on a 429 without retry-after, still without spending attempts', async () => {
    const { service, fake } = await start({ maxAttempts: 1, budget: { floorPauseMs: 50 } });
    fake.enqueue(rateLimited(), rateLimited());
    const batch = await service.generateBatch(imageRequests(1));
    expect(batch.results[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 3 });
    expect(fake.requests).toHaveLength(3);
  });

  it('gives up with RATE_LIMITED once waiting would pass rateLimitMaxWaitMs', async () => {
    const { service, fake } = await start({
      maxAttempts: 1,
      rateLimitMaxWaitMs: 250,
      fake: { behavior: rateLimited({ retryAfterMs: 100 }) },
    });
    const batch = await service.generateBatch(imageRequests(1));
    expectEveryImageTerminal(batch, 1);
    expect(batch.results[0]).toMatchObject({ status: 'FAILED', error: { code: 'RATE_LIMITED', retryable: true } });
    // 100 + 100 ms fit in the 250 ms allowance; a third wait would not.
    expect(fake.requests).toHaveLength(3);
    expect(batch.results[0]?.attempts).toBe(3);
  });

  it('a 503 with retry-after waits as asked but still spends attempts', async () => {
    const { service, fake } = await start({
      maxAttempts: 2,
      backoff: { baseDelayMs: 5, maxDelayMs: 5_000 },
      fake: { behavior: { kind: 'status', status: 503, headers: { 'retry-after-ms': '200' } } },
    });
    const batch = await service.generateBatch(imageRequests(1));
    expect(batch.results[0]).toMatchObject({ status: 'FAILED', attempts: 2, error: { code: 'UPSTREAM_UNAVAILABLE' } });
    const [first, second] = fake.requests;
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(190);
  });
});

describe('the upstream limiter', () => {
  it('learns a lower limit from 429s and still gets every image through', async () => {
    const { service, fake, limiter } = await start({
      concurrency: 8,
      maxAttempts: 1,
      rateLimitMaxWaitMs: 60_000,
      fake: { latencyMs: 100, rateLimit: { maxInFlight: 2, retryAfterMs: 100 } },
    });
    const batch = await service.generateBatch(imageRequests(10));
    expectEveryImageTerminal(batch, 10);
    expect(batch.results.map((result) => result.status)).toEqual(new Array(10).fill('SUCCEEDED'));
    expect(fake.counters.responsesByStatus[429]).toBeGreaterThan(0);
    expect(fake.counters.responsesByStatus[200]).toBe(10);
    expect(limiter.concurrency).toBeLessThan(8);
  });

  it('waits the key’s retry-after even while the upstream still carries other requests', async () => {
    // The refusal comes back with the other five answers: the refused image must not go out again at once.
    const { service, fake } = await start({ concurrency: 10, maxAttempts: 1, fake: { latencyMs: 150 } });
    fake.enqueue(rateLimited({ retryAfterSeconds: 1 }));
    const started = performance.now();
    const batch = await service.generateBatch(imageRequests(6));
    expectEveryImageTerminal(batch, 6);
    expect(batch.stats.successful).toBe(6);
    expect(fake.requests).toHaveLength(7);
    expect(fake.counters.earlyArrivals).toBe(0);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('lowers its limit on 503 too', async () => {
    const { service, fake, limiter } = await start({ concurrency: 4, maxAttempts: 3 });
    fake.enqueue(status(503));
    const batch = await service.generateBatch(imageRequests(1));
    expect(batch.results[0]?.status).toBe('SUCCEEDED');
    expect(limiter.concurrency).toBeLessThan(4);
  });

  it('raises its limit again, one step at a time, after runs of successes', async () => {
    const { service, fake, limiter } = await start({ concurrency: 4, maxAttempts: 3, budget: { growthHoldMs: 0 } });
    fake.enqueue(status(503));
    await service.generateBatch(imageRequests(1, 'overloaded'));
    expect(limiter.concurrency).toBe(1);
    // Two full windows of successes per step: 2 at limit 1, 4 at limit 2, 6 at limit 3.
    const batch = await service.generateBatch(imageRequests(12));
    expect(batch.stats.successful).toBe(12);
    expect(limiter.concurrency).toBe(4);
    expect(fake.maxInFlight).toBeLessThanOrEqual(4);
  });
});

describe('the per-attempt timeout', () => {
  it('ends a hung attempt, retries it, and fails TIMEOUT once attempts are spent, closing the hung requests', async () => {
    const { service, fake } = await start({
      maxAttempts: 2,
      upstreamTimeoutMs: 300,
      fake: { behavior: { kind: 'hang' } },
    });
    const batch = await service.generateBatch(imageRequests(1));
    expectEveryImageTerminal(batch, 1);
    expect(batch.results[0]).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      error: { code: 'TIMEOUT', retryable: true },
    });
    expect(batch.results[0]?.error?.message).toContain('300 ms');
    expect(fake.requests).toHaveLength(2);
    await expect.poll(() => fake.inFlight, { timeout: 5_000 }).toBe(0);
    await expect
      .poll(() => fake.requests.map((request) => request.outcome), { timeout: 5_000 })
      .toEqual(['abandoned', 'abandoned']);
  });

  it('lets a retry after a timeout succeed', async () => {
    const { service, fake } = await start({ maxAttempts: 2, upstreamTimeoutMs: 300 });
    fake.enqueue({ kind: 'hang' });
    const batch = await service.generateBatch(imageRequests(1));
    expect(batch.results[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
  });
});

describe('cancellation', () => {
  it('aborts the requests in flight, never sends the queued ones, and cancels every image', async () => {
    const { service, fake } = await start({ concurrency: 2, fake: { latencyMs: 1_000 } });
    const controller = new AbortController();
    const running = service.generateBatch(imageRequests(6), { signal: controller.signal });
    await fake.whenInFlight(2);
    controller.abort();
    const batch = await running;

    expectEveryImageTerminal(batch, 6);
    expect(batch.status).toBe('CANCELLED');
    for (const result of batch.results) {
      expect(result).toMatchObject({
        status: 'CANCELLED',
        image: null,
        error: { code: 'CANCELLED', retryable: false },
      });
    }
    expect(batch.results.map((result) => result.attempts)).toEqual([1, 1, 0, 0, 0, 0]);
    expect(batch.stats).toMatchObject({ cancelled: 6, successful: 0, failed: 0 });
    expect(fake.requests).toHaveLength(2);
    await expect
      .poll(() => fake.requests.map((request) => request.outcome), { timeout: 5_000 })
      .toEqual(['abandoned', 'abandoned']);
    expect(fake.requests).toHaveLength(2);
  });

  it('does not wait for slots held by another batch', async () => {
    const { service, fake } = await start({
      concurrency: 1,
      maxAttempts: 1,
      upstreamTimeoutMs: 5_000,
      fake: { behavior: { kind: 'hang' } },
    });
    const other = new AbortController();
    let otherSettled = false;
    const otherBatch = service.generateBatch(imageRequests(1, 'a picture of the other batch'), {
      signal: other.signal,
    });
    void otherBatch.finally(() => {
      otherSettled = true;
    });
    await fake.whenInFlight(1);
    const controller = new AbortController();
    const running = service.generateBatch(imageRequests(3), { signal: controller.signal });
    controller.abort();
    const batch = await running;
    // The other batch still holds the only slot: this one ended without it.
    expect(otherSettled).toBe(false);
    expect(fake.requests[0]?.outcome).toBe('pending');
    expectEveryImageTerminal(batch, 3);
    expect(batch.results.map((result) => [result.status, result.attempts])).toEqual([
      ['CANCELLED', 0],
      ['CANCELLED', 0],
      ['CANCELLED', 0],
    ]);
    other.abort();
    expect((await otherBatch).status).toBe('CANCELLED');
    expect(fake.requests).toHaveLength(1);
  });

  it('of one batch leaves another batch on the same service untouched', async () => {
    const { service, fake } = await start({ concurrency: 2, fake: { latencyMs: 200 } });
    const controller = new AbortController();
    const cancelled = service.generateBatch(imageRequests(4, 'cancelled batch picture'), { signal: controller.signal });
    const kept = service.generateBatch(imageRequests(4, 'kept batch picture'));
    await fake.whenInFlight(2);
    controller.abort();
    const [cancelledBatch, keptBatch] = await Promise.all([cancelled, kept]);
    expectEveryImageTerminal(cancelledBatch, 4);
    expectEveryImageTerminal(keptBatch, 4);
    expect(cancelledBatch.status).toBe('CANCELLED');
    expect(cancelledBatch.stats.cancelled).toBe(4);
    expect(keptBatch.status).toBe('COMPLETED');
    expect(keptBatch.stats.successful).toBe(4);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const { service, fake } = await start();
    const batch = await service.generateBatch(imageRequests(3), { signal: AbortSignal.abort() });
    expectEveryImageTerminal(batch, 3);
    expect(batch.status).toBe('CANCELLED');
    expect(batch.results.map((result) => result.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
    expect(fake.requests).toHaveLength(0);
  });

  it('ends a wait between attempts at once', async () => {
    const { service, fake } = await start();
    fake.enqueue(rateLimited({ retryAfterMs: 5_000 }));
    const controller = new AbortController();
    const started = performance.now();
    const batch = await service.generateBatch(imageRequests(1), {
      signal: controller.signal,
      onProgress: (event) => {
        if (event.image.status === 'RETRYING') controller.abort();
      },
    });
    expect(batch.results[0]).toMatchObject({ status: 'CANCELLED', attempts: 1, error: { code: 'CANCELLED' } });
    expect(fake.requests).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(4_000);
  });

  it('keeps the images that already succeeded', async () => {
    const requests = imageRequests(3);
    const slowPrompt = requests[2]?.prompt ?? '';
    const { service } = await start({
      concurrency: 3,
      fake: { latencyMs: (request) => (request.prompt === slowPrompt ? 10_000 : 0) },
    });
    const controller = new AbortController();
    const running = service.generateBatch(requests, {
      signal: controller.signal,
      onProgress: (event) => {
        if (event.progress.completed === 2) controller.abort();
      },
    });
    const batch = await running;
    expectEveryImageTerminal(batch, 3);
    expect(batch.results.map((result) => result.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'CANCELLED']);
    expect(batch.status).toBe('CANCELLED');
    expect(batch.results[2]?.error?.code).toBe('CANCELLED');
  });
});

describe('identical requests', () => {
  it('share one upstream call and the same image; a different seed is a different request', async () => {
    const same = { prompt: 'a smiling sun over green hills', width: 512, height: 512, seed: 11 };
    const { service, fake } = await start();
    const batch = await service.generateBatch([
      { id: 'a', ...same },
      { id: 'b', ...same },
      { id: 'c', ...same },
      { id: 'd', ...same, seed: 12 },
    ]);
    expectEveryImageTerminal(batch, 4);
    expect(fake.requests).toHaveLength(2);
    expect(batch.results.map((result) => result.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(batch.results.map((result) => result.deduplicated)).toEqual([false, true, true, false]);
    const [a, b, c, d] = batch.results.map((result) => result.image?.bytes ?? Buffer.alloc(0));
    expect(b?.equals(a ?? Buffer.alloc(1))).toBe(true);
    expect(c?.equals(a ?? Buffer.alloc(1))).toBe(true);
    expect(d?.equals(a ?? Buffer.alloc(1))).toBe(false);
    expect(batch.stats).toMatchObject({ successful: 4, retries: 0 });
  });

  it('share a failure and its retries too', async () => {
    const same = { prompt: 'a lion in a library', width: 512, height: 512 };
    const { service, fake } = await start({ maxAttempts: 2, fake: { behavior: status(503) } });
    const batch = await service.generateBatch([
      { id: 'a', ...same },
      { id: 'b', ...same },
    ]);
    expectEveryImageTerminal(batch, 2);
    expect(fake.requests).toHaveLength(2);
    for (const result of batch.results) {
      expect(result).toMatchObject({ status: 'FAILED', attempts: 2, error: { code: 'UPSTREAM_UNAVAILABLE' } });
    }
  });
});

describe('image sizes', () => {
  it('are rounded to multiples of 16 before they are sent, and both sizes are reported', async () => {
    const { service, fake } = await start();
    const batch = await service.generateBatch([{ id: 'x', prompt: 'a paper boat', width: 500, height: 300 }]);
    expect(fake.requests[0]?.body).toMatchObject({ width: 496, height: 304 });
    expect(batch.results[0]).toMatchObject({
      status: 'SUCCEEDED',
      dimensions: { width: 496, height: 304 },
      requestedDimensions: { width: 500, height: 300 },
    });
  });

  it.each([
    [63, 'at least 64'],
    [1793, 'at most 1792'],
  ])(
    'outside the bounds (width %i) are bad input naming the field and the limit, and nothing is sent',
    async (width, limit) => {
      const { service, fake } = await start();
      const attempt = service.generateBatch([{ id: 'x', prompt: 'a paper boat', width, height: 512 }]);
      await expect(attempt).rejects.toBeInstanceOf(InvalidInputError);
      const error = (await attempt.catch((thrown: unknown) => thrown)) as InvalidInputError;
      expect(error.issues).toContainEqual({ field: 'images[0].width', message: expect.stringContaining(limit) });
      expect(error.message).toContain('images[0].width');
      expect(fake.requests).toHaveLength(0);
    },
  );

  it('are checked with the rest of the batch: duplicate ids are bad input too', async () => {
    const { service, fake } = await start();
    const first = { id: '0', prompt: 'a kite', width: 512, height: 512 };
    await expect(service.generateBatch([first, { ...first, prompt: 'another picture' }])).rejects.toThrow(
      /images\[1\]\.id: id "0" is used twice/,
    );
    expect(fake.requests).toHaveLength(0);
  });

  it('name the image at fault in a larger batch', async () => {
    const { service, fake } = await start();
    const requests = imageRequests(3);
    const bad = requests.map((request, index) => (index === 2 ? { ...request, height: 4000 } : request));
    await expect(service.generateBatch(bad)).rejects.toThrow(/images\[2\]\.height.*1792/);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('progress events', () => {
  it('take every image from QUEUED through GENERATING (and RETRYING) to a terminal state', async () => {
    const requests = imageRequests(4);
    const flakyPrompt = requests[1]?.prompt ?? '';
    const flaggedPrompt = requests[3]?.prompt ?? '';
    const flakyOnce = failFirst({ [flakyPrompt]: { times: 1, behavior: status(503) } });
    const { service } = await start({
      concurrency: 2,
      maxAttempts: 3,
      fake: {
        latencyMs: 30,
        behaviorFor: (request) => (request.prompt === flaggedPrompt ? flagged() : flakyOnce(request)),
      },
    });
    const progress = recordProgress();
    const batch = await service.generateBatch(requests, { onProgress: progress.onProgress });
    expectEveryImageTerminal(batch, 4);

    for (const request of requests) {
      expect(progress.statusesOf(request.id).join(' ')).toMatch(
        /^QUEUED GENERATING( RETRYING GENERATING)* (SUCCEEDED|FAILED|CANCELLED)$/,
      );
    }
    expect(progress.statusesOf(requests[1]?.id ?? '')).toEqual([
      'QUEUED',
      'GENERATING',
      'RETRYING',
      'GENERATING',
      'SUCCEEDED',
    ]);
    const retrying = progress.events.find((event) => event.image.status === 'RETRYING');
    expect(retrying?.image.error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: true });
    expect(retrying?.image.retryInMs).toEqual(expect.any(Number));
    expect(progress.statusesOf(requests[3]?.id ?? '').at(-1)).toBe('FAILED');
  });

  it('count completed images up to the total, name a prompt in flight, and end with the final stats', async () => {
    const requests = imageRequests(6);
    const { service } = await start({ concurrency: 3, fake: { latencyMs: 20 } });
    const progress = recordProgress();
    const batch = await service.generateBatch(requests, { onProgress: progress.onProgress });
    expectEveryImageTerminal(batch, 6);

    const promptById = new Map(requests.map((request) => [request.id, request.prompt]));
    const statusById = new Map<string, ImageStatus>();
    let completed = 0;
    for (const event of progress.events) {
      statusById.set(event.image.id, event.image.status);
      expect(event.progress.completed).toBeGreaterThanOrEqual(completed);
      completed = event.progress.completed;
      expect(event.progress.total).toBe(6);
      expect(event.progress.errors).toBe(event.stats.failed);
      expect(event.stats.pending).toBe(event.stats.total - event.progress.completed);
      if (event.image.status === 'GENERATING') expect(event.progress.current).toBe(promptById.get(event.image.id));
      if (event.progress.current !== null) {
        const inFlight = [...statusById]
          .filter(([, state]) => state === 'GENERATING')
          .map(([id]) => promptById.get(id));
        expect(inFlight).toContain(event.progress.current);
      }
    }
    const last = progress.events.at(-1);
    expect(last?.progress).toEqual({ completed: 6, total: 6, errors: 0, current: null });
    const { durationMs: _lastDuration, ...lastStats } = last?.stats ?? batch.stats;
    const { durationMs: _finalDuration, ...finalStats } = batch.stats;
    expect(lastStats).toEqual(finalStats);
    expect(progress.events).toHaveLength(6 * 3);
  });

  it('are snapshots that later changes do not rewrite', async () => {
    const { service } = await start();
    const progress = recordProgress();
    await service.generateBatch(imageRequests(2), { onProgress: progress.onProgress });
    expect(progress.events.slice(0, 2).map((event) => event.image.status)).toEqual(['QUEUED', 'QUEUED']);
  });

  it('from a listener that throws do not break the batch', async () => {
    const h = await start();
    let calls = 0;
    const batch = await h.service.generateBatch(imageRequests(3), {
      onProgress: () => {
        calls += 1;
        throw new Error('the listener broke');
      },
    });
    expectEveryImageTerminal(batch, 3);
    expect(batch.results.map((result) => result.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(calls).toBe(9);
    expect(h.logEntries().some((entry) => entry.msg === 'progress listener threw')).toBe(true);
  });
});

describe('logs', () => {
  it("tell the batch's start, each retry with its reason, and its end, under the batch id", async () => {
    const h = await start({ maxAttempts: 2 });
    h.fake.enqueue(status(503));
    await h.service.generateBatch(imageRequests(2), { batchId: 'job-42' });
    const entries = h.logEntries().filter((entry) => entry.batchId === 'job-42');
    expect(entries.map((entry) => entry.msg)).toEqual(['batch started', 'retrying image', 'batch finished']);
    expect(entries[0]).toMatchObject({ images: 2, uniqueRequests: 2, provider: 'together' });
    expect(entries[1]).toMatchObject({ attempt: 1, reason: 'http_503', waitMs: expect.any(Number) });
    expect(entries[2]).toMatchObject({ status: 'COMPLETED', stats: { successful: 2, retries: 1 } });
  });
});
