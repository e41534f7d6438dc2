import { describe, expect, it } from 'vitest';
import { decideRetry, fullJitterDelay, parseRetryAfter, type RetrySettings } from '../src/generation/retry-policy.js';
import { ProviderError } from '../src/providers/provider-error.js';

const settings: RetrySettings = { maxAttempts: 3, rateLimitMaxWaitMs: 10_000, baseDelayMs: 500, maxDelayMs: 10_000 };
const fresh = (countedAttempts: number) => ({ countedAttempts, rateLimitedAttempts: 0, rateLimitWaitedMs: 0 });
const error = (code: ProviderError['code'], retryable: boolean, retryAfterMs?: number) =>
  new ProviderError('x', { code, retryable, reason: 'test', ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });

describe('retry policy', () => {
  it('never retries what cannot pass', () => {
    for (const code of ['INVALID_REQUEST', 'CONTENT_FLAGGED', 'UPSTREAM_AUTH', 'OUT_OF_CREDITS'] as const) {
      expect(decideRetry(error(code, false), fresh(1), settings)).toEqual({ retry: false, reason: 'not_retryable' });
    }
  });

  it('retries a transient failure until the attempts are spent', () => {
    expect(decideRetry(error('UPSTREAM_UNAVAILABLE', true), fresh(1), settings, () => 0.5)).toMatchObject({
      retry: true,
    });
    expect(decideRetry(error('UPSTREAM_UNAVAILABLE', true), fresh(2), settings, () => 0.5)).toMatchObject({
      retry: true,
    });
    expect(decideRetry(error('UPSTREAM_UNAVAILABLE', true), fresh(3), settings)).toEqual({
      retry: false,
      reason: 'attempts_exhausted',
    });
  });

  it('backs off exponentially with full jitter under a cap', () => {
    expect(fullJitterDelay(0, settings, () => 1)).toBe(500);
    expect(fullJitterDelay(1, settings, () => 1)).toBe(1000);
    expect(fullJitterDelay(3, settings, () => 1)).toBe(4000);
    expect(fullJitterDelay(10, settings, () => 1)).toBe(10_000);
    expect(fullJitterDelay(3, settings, () => 0)).toBe(0);
    expect(fullJitterDelay(3, settings, () => 0.25)).toBe(1000);
  });

  it('waits what a 429 asks without spending an attempt, up to the deadline', () => {
    const budget = { countedAttempts: 3, rateLimitedAttempts: 5, rateLimitWaitedMs: 8_000 };
    expect(decideRetry(error('RATE_LIMITED', true, 1_500), budget, settings)).toEqual({
      retry: true,
      delayMs: 1_500,
      rateLimited: true,
    });
    expect(decideRetry(error('RATE_LIMITED', true, 2_500), budget, settings)).toEqual({
      retry: false,
      reason: 'rate_limit_deadline',
    });
  });

  it('honours retry-after on a 503 as well', () => {
    expect(decideRetry(error('UPSTREAM_UNAVAILABLE', true, 2_000), fresh(1), settings)).toEqual({
      retry: true,
      delayMs: 2_000,
      rateLimited: false,
    });
  });
});

describe('retry-after headers', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('prefers retry-after-ms, then retry-after, then x-ratelimit-reset', () => {
    expect(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '3' }, now)).toBe(250);
    expect(parseRetryAfter({ 'retry-after': '3' }, now)).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': '0.5' }, now)).toBe(500);
    expect(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now)).toBe(5000);
    expect(parseRetryAfter({ 'x-ratelimit-reset': '2' }, now)).toBe(2000);
    expect(parseRetryAfter({ 'x-ratelimit-reset': String(now / 1000 + 4) }, now)).toBe(4000);
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter({}, now)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after-ms': '-5' }, now)).toBeUndefined();
  });
});
