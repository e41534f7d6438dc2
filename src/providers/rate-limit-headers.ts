/**
 * What an upstream answer says about the key's rate limit, read from its headers. Pure: the limiter decides what to
 * do with it (src/generation/upstream-budget.ts).
 */

type Headers = Record<string, string | string[] | undefined>;

/** The `x-ratelimit-*` family, as numbers. Any field may be missing. */
export interface RateLimitHeaders {
  /** Requests the key may make before the limit is exhausted: the bucket's size. */
  limit?: number;
  /** Requests left before the limit is exhausted, when the upstream answered. */
  remaining?: number;
  /** How long until the limit is back to its initial state (a full bucket), in milliseconds. */
  resetMs?: number;
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.trim();
}

/** A plain decimal number (no hex, no empty string, no Infinity), or undefined. */
function decimal(text: string | undefined): number | undefined {
  if (text === undefined || !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) return undefined;
  return Number(text);
}

/**
 * Reads x-ratelimit-reset: seconds until the reset, or (for values past 1e9) an epoch time in seconds. Together's
 * documentation calls it "the time until the rate limit resets to its initial state".
 */
function resetMs(headers: Headers, now: number): number | undefined {
  const value = decimal(header(headers, 'x-ratelimit-reset'));
  if (value === undefined) return undefined;
  return value > 1e9 ? value * 1000 - now : value * 1000;
}

/**
 * How long the upstream asks us to wait: retry-after-ms, then retry-after (seconds or an HTTP date), then
 * x-ratelimit-reset. The value is returned as read, zero or negative included (an HTTP date in the past is negative):
 * the limiter, not the parser, decides what a wait that is not a wait means. undefined when nothing is readable.
 */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | undefined {
  const milliseconds = decimal(header(headers, 'retry-after-ms'));
  if (milliseconds !== undefined) return Math.ceil(milliseconds);
  const retryAfter = header(headers, 'retry-after');
  if (retryAfter !== undefined) {
    const seconds = decimal(retryAfter);
    if (seconds !== undefined) return Math.ceil(seconds * 1000);
    // An HTTP date: it has a letter in it (a bare number is never a date here).
    const date = /[a-z]/i.test(retryAfter) ? Date.parse(retryAfter) : Number.NaN;
    if (Number.isFinite(date)) return date - now;
  }
  const reset = resetMs(headers, now);
  return reset === undefined ? undefined : Math.ceil(reset);
}

/** Reads x-ratelimit-limit, -remaining and -reset; fields that are absent or not numbers are left out. */
export function parseRateLimitHeaders(headers: Headers, now: number = Date.now()): RateLimitHeaders | undefined {
  const limit = decimal(header(headers, 'x-ratelimit-limit'));
  const remaining = decimal(header(headers, 'x-ratelimit-remaining'));
  const reset = resetMs(headers, now);
  const result: RateLimitHeaders = {};
  if (limit !== undefined && limit >= 0) result.limit = limit;
  if (remaining !== undefined && remaining >= 0) result.remaining = remaining;
  if (reset !== undefined && reset >= 0) result.resetMs = reset;
  return Object.keys(result).length > 0 ? result : undefined;
}
