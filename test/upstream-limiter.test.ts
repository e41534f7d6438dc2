import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_BUDGET_SETTINGS } from '../src/generation/upstream-budget.js';
import {
  type BudgetStore,
  InProcessUpstreamLimiter,
  MemoryBudgetStore,
  type InProcessUpstreamLimiterOptions,
  RateLimitWaitExceeded,
  type UpstreamPermit,
} from '../src/generation/upstream-limiter.js';
import { createLogger } from '../src/logger.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-30T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Lets the limiter's promise chains run without moving the clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);

function limiterWith(options: Partial<InProcessUpstreamLimiterOptions> = {}) {
  return new InProcessUpstreamLimiter({ maxConcurrency: 4, rateLimitMaxWaitMs: 60_000, ...options });
}

/** Queues `count` requests of one job and records the order in which they are granted. */
function queue(
  limiter: InProcessUpstreamLimiter,
  granted: string[],
  tenant: string,
  job: string,
  count: number,
  permits?: Map<string, UpstreamPermit>,
) {
  return Array.from({ length: count }, (_, index) =>
    limiter.acquire({ tenant, job }).then((permit) => {
      granted.push(`${job}#${index}`);
      permits?.set(`${job}#${index}`, permit);
      return permit;
    }),
  );
}

/** With a limit of one: releases whatever was granted last, `steps` times. */
async function serveOneAtATime(granted: string[], permits: Map<string, UpstreamPermit>, steps: number) {
  for (let step = 0; step < steps; step += 1) {
    await settle();
    const last = granted.at(-1);
    if (last !== undefined) permits.get(last)?.release({ kind: 'success' });
  }
  await settle();
}

describe('the in-process upstream limiter', () => {
  it('never grants more permits at once than its concurrency', async () => {
    const limiter = limiterWith({ maxConcurrency: 3 });
    const granted: string[] = [];
    const permits = queue(limiter, granted, 't', 'job', 10);
    await settle();
    expect(granted).toHaveLength(3);
    expect(limiter.activeCount).toBe(3);
    expect(limiter.pendingCount).toBe(7);
    (await permits[0])?.release({ kind: 'success' });
    await settle();
    expect(granted).toHaveLength(4);
  });

  it('takes turns across jobs, so a big batch cannot starve a small one that comes after it', async () => {
    const limiter = limiterWith({ maxConcurrency: 1 });
    const granted: string[] = [];
    const permits = new Map<string, UpstreamPermit>();
    queue(limiter, granted, 't', 'big', 6, permits);
    queue(limiter, granted, 't', 'small', 2, permits);
    await serveOneAtATime(granted, permits, 8);
    expect(granted.slice(0, 5)).toEqual(['big#0', 'small#0', 'big#1', 'small#1', 'big#2']);
    expect(granted).toHaveLength(8);
  });

  it('takes turns across tenants first, so one client’s many jobs cannot push back another’s batch', async () => {
    const limiter = limiterWith({ maxConcurrency: 1 });
    const granted: string[] = [];
    const permits = new Map<string, UpstreamPermit>();
    // The busy client has seven one-image jobs in line before the teacher's three-image batch arrives.
    for (let job = 0; job < 7; job += 1) queue(limiter, granted, 'busy', `busy-${job}`, 1, permits);
    queue(limiter, granted, 'teacher', 'worksheet', 3, permits);
    await serveOneAtATime(granted, permits, 10);
    expect(granted.slice(0, 7)).toEqual([
      'busy-0#0',
      'worksheet#0',
      'busy-1#0',
      'worksheet#1',
      'busy-2#0',
      'worksheet#2',
      'busy-3#0',
    ]);
    expect(granted).toHaveLength(10);
  });

  it('takes an aborted request out of the line without granting it', async () => {
    const limiter = limiterWith({ maxConcurrency: 1 });
    const held = await limiter.acquire({ tenant: 't', job: 'a' });
    const abort = new AbortController();
    const waiting = limiter.acquire({ tenant: 't', job: 'b', signal: abort.signal });
    abort.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(limiter.pendingCount).toBe(0);
    held.release({ kind: 'success' });
    await settle();
    expect(limiter.activeCount).toBe(0);
  });

  it('sends nothing with the key before a retry-after has passed, then resumes by itself', async () => {
    const limiter = limiterWith({ maxConcurrency: 4 });
    const refused = await limiter.acquire({ tenant: 't', job: 'a' });
    refused.release({ kind: 'refused', retryAfterMs: 1_500 });
    await settle();
    const granted: string[] = [];
    queue(limiter, granted, 't', 'b', 2);
    await vi.advanceTimersByTimeAsync(1_499);
    expect(granted).toEqual([]);
    expect(limiter.snapshot().pausedUntil).toBe(Date.now() + 1);
    await vi.advanceTimersByTimeAsync(1);
    // The 429 lowered the limit to what was in flight besides it (nothing): one at a time.
    expect(granted).toEqual(['b#0']);
    expect(limiter.concurrency).toBe(1);
  });

  it('fails a waiting request RATE_LIMITED at once when the pause ends after its deadline', async () => {
    const limiter = limiterWith({ rateLimitMaxWaitMs: 10_000 });
    (await limiter.acquire({ tenant: 't', job: 'a' })).release({ kind: 'refused', retryAfterMs: 86_400_000 });
    await settle();
    const waiting = limiter.acquire({ tenant: 't', job: 'a', rateLimitedSince: Date.now() });
    const failure = waiting.catch((error: unknown) => error);
    await settle();
    const error = await failure;
    expect(error).toBeInstanceOf(RateLimitWaitExceeded);
    // An absurd retry-after is capped at five minutes.
    expect((error as RateLimitWaitExceeded).pausedUntil).toBe(Date.now() + 300_000);
  });

  it('starts the clock of requests held by a pause and fails them at their deadline', async () => {
    const limiter = limiterWith({ rateLimitMaxWaitMs: 3_000, maxConcurrency: 1 });
    const failures: unknown[] = [];
    let sent = 0;
    // An upstream that refuses every request with retry-after 1 s.
    const refuseForever = async (job: string, rateLimitedSince?: number): Promise<void> => {
      const permit = await limiter.acquire({
        tenant: 't',
        job,
        ...(rateLimitedSince === undefined ? {} : { rateLimitedSince }),
      });
      sent += 1;
      permit.release({ kind: 'refused', retryAfterMs: 1_000 });
      return refuseForever(job, permit.rateLimitedSince ?? Date.now());
    };
    // Job b never met a refusal itself: its clock starts when the pause holds it.
    const storms = ['a', 'b'].map((job) => refuseForever(job).catch((error: unknown) => failures.push(error)));
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(storms);
    expect(failures).toHaveLength(2);
    expect(failures.every((error) => error instanceof RateLimitWaitExceeded)).toBe(true);
    // One request a second until the three seconds were spent: nothing in between.
    expect(sent).toBeGreaterThanOrEqual(2);
    expect(sent).toBeLessThanOrEqual(4);
  });

  it('paces to the rate the headers gave, and logs when the rate or the limit changes', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', secrets: [], destination: { write: (line) => lines.push(line) } });
    const limiter = limiterWith({ maxConcurrency: 8, logger });
    (await limiter.acquire({ tenant: 't', job: 'a' })).release({
      kind: 'success',
      rateLimit: { limit: 2, remaining: 1, resetMs: 100 },
    });
    await settle();
    expect(limiter.snapshot().ratePerSecond).toBe(10);
    const granted: string[] = [];
    const permits = queue(limiter, granted, 't', 'b', 6);
    await settle();
    // One token left in a bucket of two.
    expect(granted).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(granted).toHaveLength(6);
    for (const permit of permits) (await permit).release({ kind: 'success' });
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toContainEqual(
      expect.objectContaining({ limit: 'rate', from: null, to: 10, why: 'x-ratelimit-* headers' }),
    );
  });

  it('reports how long each request waited for its permit', async () => {
    const waits: number[] = [];
    const limiter = limiterWith({ maxConcurrency: 1, onQueueWait: (milliseconds) => waits.push(milliseconds) });
    const first = await limiter.acquire({ tenant: 't', job: 'a' });
    const second = limiter.acquire({ tenant: 't', job: 'a' });
    first.release({ kind: 'success' });
    (await second).release({ kind: 'success' });
    expect(waits).toHaveLength(2);
    expect(waits.every((wait) => wait >= 0)).toBe(true);
  });

  it('takes the same turns with a store that answers later, as a shared one does', async () => {
    const memory = new MemoryBudgetStore({ ...DEFAULT_BUDGET_SETTINGS, maxConcurrency: 1 }, Date.now());
    const later: BudgetStore = {
      take: async (now) => memory.take(now),
      settle: async (grant, outcome, now) => memory.settle(grant, outcome, now),
      snapshot: () => memory.snapshot(),
    };
    const limiter = limiterWith({ maxConcurrency: 1, store: later });
    const granted: string[] = [];
    const permits = new Map<string, UpstreamPermit>();
    queue(limiter, granted, 't', 'big', 4, permits);
    queue(limiter, granted, 't', 'small', 2, permits);
    await serveOneAtATime(granted, permits, 6);
    expect(granted).toEqual(['big#0', 'small#0', 'big#1', 'small#1', 'big#2', 'big#3']);
    expect(limiter.activeCount).toBe(0);
    expect(limiter.pendingCount).toBe(0);
  });

  it('tries again a second later when its store fails, and loses nobody in line', async () => {
    const memory = new MemoryBudgetStore({ ...DEFAULT_BUDGET_SETTINGS, maxConcurrency: 2 }, Date.now());
    let failures = 1;
    const flaky: BudgetStore = {
      take: async (now) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('store unreachable');
        }
        return memory.take(now);
      },
      settle: async (grant, outcome, now) => memory.settle(grant, outcome, now),
      snapshot: () => memory.snapshot(),
    };
    const lines: string[] = [];
    const logger = createLogger({
      level: 'error',
      secrets: [],
      destination: { write: (line: string) => lines.push(line) },
    });
    const limiter = limiterWith({ maxConcurrency: 2, store: flaky, logger });
    const granted: string[] = [];
    queue(limiter, granted, 't', 'job', 2);
    await settle();
    expect(granted).toEqual([]);
    expect(lines.join('')).toContain('could not reach its budget store');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(granted).toEqual(['job#0', 'job#1']);
  });

  it('checks its arguments', () => {
    expect(() => limiterWith({ maxConcurrency: 0 })).toThrow(TypeError);
    expect(() => limiterWith({ rateLimitMaxWaitMs: -1 })).toThrow(TypeError);
  });
});
