import type { ProviderError } from '../providers/provider-error.js';

export interface RetrySettings {
  /** Attempts per image, the first included. Rate-limit answers do not spend them. */
  maxAttempts: number;
  /** How long an image may wait once it has met the rate limit, before it fails RATE_LIMITED. */
  rateLimitMaxWaitMs: number;
  /** First backoff ceiling; doubles per retry up to maxDelayMs (full jitter below the ceiling). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF = { baseDelayMs: 500, maxDelayMs: 10_000 } as const;

/** What one image has spent so far. */
export interface RetryBudget {
  /** Attempts that counted against maxAttempts. */
  countedAttempts: number;
  /** When the image first met the rate limit (epoch ms), or undefined. */
  rateLimitedSince?: number | undefined;
}

export type RetryDecision =
  | { retry: true; delayMs: number; rateLimited: boolean }
  | { retry: false; reason: 'not_retryable' | 'attempts_exhausted' | 'rate_limit_deadline' };

/**
 * Decides whether a failed attempt is tried again and after how long.
 * A 429 is the upstream telling us to slow down, not the image failing: it spends no attempt, and it goes straight
 * back in the limiter's line (delay 0), which holds every request of the key until retry-after has passed; only the
 * image's rate-limit deadline ends it.
 */
export function decideRetry(
  error: ProviderError,
  budget: RetryBudget,
  settings: RetrySettings,
  random: () => number = Math.random,
  now: number = Date.now(),
): RetryDecision {
  if (!error.retryable) return { retry: false, reason: 'not_retryable' };

  if (error.code === 'RATE_LIMITED') {
    const since = budget.rateLimitedSince ?? now;
    if (now - since >= settings.rateLimitMaxWaitMs) return { retry: false, reason: 'rate_limit_deadline' };
    return { retry: true, delayMs: 0, rateLimited: true };
  }

  if (budget.countedAttempts >= settings.maxAttempts) return { retry: false, reason: 'attempts_exhausted' };
  // An overloaded upstream (503) may say how long to wait; otherwise back off exponentially.
  const delayMs =
    error.retryAfterMs !== undefined && error.retryAfterMs > 0
      ? error.retryAfterMs
      : fullJitterDelay(budget.countedAttempts - 1, settings, random);
  return { retry: true, delayMs: Math.min(delayMs, settings.maxDelayMs), rateLimited: false };
}

/** "Full jitter": a uniform wait below an exponentially growing, capped ceiling, so retries of a burst spread out. */
export function fullJitterDelay(
  retryIndex: number,
  settings: Pick<RetrySettings, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number,
): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, retryIndex));
  return Math.round(random() * ceiling);
}
