import { describe, expect, it } from 'vitest';
import { decideRetry, fullJitterDelay, type RetrySettings } from '../src/generation/retry-policy.js';
import { ProviderError } from '../src/providers/provider-error.js';
import { parseRateLimitHeaders, parseRetryAfter } from '../src/providers/rate-limit-headers.js';

const settings: RetrySettings = { maxAttempts: 3, rateLimitMaxWaitMs: 10_000, baseDelayMs: 500, maxDelayMs: 10_000 };
const fresh = (countedAttempts: number) => ({ countedAttempts });
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

  it('sends a 429 straight back to the limiter without spending an attempt, until the deadline', () => {
    const since = 1_000_000;
    const budget = { countedAttempts: 3, rateLimitedSince: since };
    // The limiter, not the image, waits out retry-after: the image goes back in line at once.
    expect(decideRetry(error('RATE_LIMITED', true, 1_500), budget, settings, Math.random, since + 9_999)).toEqual({
      retry: true,
      delayMs: 0,
      rateLimited: true,
    });
    expect(decideRetry(error('RATE_LIMITED', true, 1_500), budget, settings, Math.random, since + 10_000)).toEqual({
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
  it('returns zero, negative and past values as read: the limiter applies its floor', () => {
    expect(parseRetryAfter({ 'retry-after': '0' }, now)).toBe(0);
    expect(parseRetryAfter({ 'retry-after': '-3' }, now)).toBe(-3000);
    expect(parseRetryAfter({ 'retry-after-ms': '-5' }, now)).toBe(-5);
    expect(parseRetryAfter({ 'retry-after': 'Wed, 31 Dec 2025 23:59:50 GMT' }, now)).toBe(-10_000);
    expect(parseRetryAfter({ 'retry-after': '86400' }, now)).toBe(86_400_000);
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter({}, now)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': '' }, now)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after-ms': '0x10' }, now)).toBeUndefined();
  });
  it('reads the x-ratelimit-* family, leaving out what is absent or not a number', () => {
    expect(
      parseRateLimitHeaders(
        { 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '0.4' },
        now,
      ),
    ).toEqual({
      limit: 5,
      remaining: 3,
      resetMs: 400,
    });
    expect(parseRateLimitHeaders({ 'x-ratelimit-reset': String(now / 1000 + 2) }, now)).toEqual({ resetMs: 2000 });
    expect(parseRateLimitHeaders({ 'x-ratelimit-limit': 'many' }, now)).toBeUndefined();
    expect(parseRateLimitHeaders({}, now)).toBeUndefined();
  });
});
