import type { ImageErrorCode } from '../images/types.js';
import type { RateLimitHeaders } from './rate-limit-headers.js';

export interface ProviderErrorDetails {
  code: ImageErrorCode;
  retryable: boolean;
  /** The upstream HTTP status, when there was one. */
  status?: number;
  /** How long the upstream asked us to wait before the next attempt (retry-after and kin). */
  retryAfterMs?: number;
  /** What the answer's x-ratelimit-* headers said about the key's limit. */
  rateLimit?: RateLimitHeaders;
  /** A short machine-readable reason for logs and retry events, e.g. "http_503", "timeout", "connection_reset". */
  reason: string;
}

/**
 * A failed attempt at one image. Messages describe what happened in words a teacher's editor can show;
 * they never carry the API key, a header or the upstream's raw body beyond its own error message.
 */
export class ProviderError extends Error {
  readonly code: ImageErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly rateLimit: RateLimitHeaders | undefined;
  readonly reason: string;

  constructor(message: string, details: ProviderErrorDetails) {
    super(message);
    this.name = 'ProviderError';
    this.code = details.code;
    this.retryable = details.retryable;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.rateLimit = details.rateLimit;
    this.reason = details.reason;
  }
}
