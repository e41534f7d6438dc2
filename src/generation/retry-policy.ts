import type { ProviderError } from '../providers/provider-error.js';

export interface RetrySettings {
  /** Attempts per image, the first included. Rate-limit answers do not spend them. */
  maxAttempts: number;
  /** Total time an image may spend waiting on rate limits before it fails RATE_LIMITED. */
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
  /** Rate-limit answers received so far. */
  rateLimitedAttempts: number;
  /** Time already spent waiting on rate limits. */
  rateLimitWaitedMs: number;
}

export type RetryDecision =
  | { retry: true; delayMs: number; rateLimited: boolean }
  | { retry: false; reason: 'not_retryable' | 'attempts_exhausted' | 'rate_limit_deadline' };

/**
 * Decides whether a failed attempt is tried again and after how long.
 * A 429 is the upstream telling us to slow down, not the image failing, so it waits (as long as the upstream asks)
 * within a deadline instead of spending one of the image's attempts.
 */
export function decideRetry(
  error: ProviderError,
  budget: RetryBudget,
  settings: RetrySettings,
  random: () => number = Math.random,
): RetryDecision {
  if (!error.retryable) return { retry: false, reason: 'not_retryable' };

  if (error.code === 'RATE_LIMITED') {
    const delayMs = error.retryAfterMs ?? fullJitterDelay(budget.rateLimitedAttempts, settings, random);
    if (budget.rateLimitWaitedMs + delayMs > settings.rateLimitMaxWaitMs) {
      return { retry: false, reason: 'rate_limit_deadline' };
    }
    return { retry: true, delayMs, rateLimited: true };
  }

  if (budget.countedAttempts >= settings.maxAttempts) return { retry: false, reason: 'attempts_exhausted' };
  // An overloaded upstream (503) may say how long to wait; otherwise back off exponentially.
  const delayMs = error.retryAfterMs ?? fullJitterDelay(budget.countedAttempts - 1, settings, random);
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

/**
 * Reads how long the upstream asks us to wait: retry-after-ms, then retry-after (seconds or an HTTP date),
 * then x-ratelimit-reset (seconds until the window resets, or an epoch time in seconds).
 */
export function parseRetryAfter(
  headers: Record<string, string | string[] | undefined>,
  now: number = Date.now(),
): number | undefined {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const milliseconds = Number(header('retry-after-ms'));
  if (header('retry-after-ms') !== undefined && Number.isFinite(milliseconds) && milliseconds >= 0) {
    return Math.ceil(milliseconds);
  }
  const retryAfter = header('retry-after');
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  const reset = header('x-ratelimit-reset');
  if (reset !== undefined) {
    const value = Number(reset);
    if (Number.isFinite(value) && value >= 0) {
      // Large values are epoch seconds; small ones are seconds until the window resets.
      return value > 1e9 ? Math.max(0, value * 1000 - now) : Math.ceil(value * 1000);
    }
  }
  return undefined;
}
