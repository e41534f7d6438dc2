import type { FinalImageStatus } from './states.js';
import type { ImageErrorCode } from './types.js';

/**
 * What the generation side reports as it works, for metrics. Every method is optional and must not throw;
 * the service calls them on its hot path, so they must be cheap.
 */
export interface GenerationObserver {
  /** A request waited this long for a free upstream slot. */
  queueWait?(milliseconds: number): void;
  /** The upstream key is now paused this much longer on a retry-after (every request of the key waits it). */
  rateLimitPause?(milliseconds: number): void;
  /** One upstream attempt ended: `outcome` is "success" or the failure reason (e.g. "http_503", "timeout"). */
  attemptFinished?(milliseconds: number, outcome: string): void;
  /** A retry was scheduled for `reason` after `delayMilliseconds`. */
  retryScheduled?(reason: string, delayMilliseconds: number): void;
  /** An image reached a final state. */
  imageFinished?(status: FinalImageStatus, code: ImageErrorCode | null): void;
  /** A job started or finished (jobs are the GraphQL layer's batches). */
  jobStarted?(): void;
  jobFinished?(status: 'COMPLETED' | 'CANCELLED'): void;
}
