import type { EncodedImage, ImageErrorCode } from '../images/types.js';
import type { FinishedJobStatus, ImageStatus } from './states.js';

// Re-exported so the layers above keep one place to import the generation vocabulary from.
export type { EncodedImage, ImageErrorCode };

/** One picture placeholder to fill: the client's key plus what to draw. */
export interface ImageRequest {
  /** The client's key, unique in the batch, e.g. "0-1" = page 0, element 1. */
  id: string;
  prompt: string;
  width: number;
  height: number;
  seed?: number | null;
}

export interface Dimensions {
  width: number;
  height: number;
}

export type { FinishedJobStatus, ImageStatus, JobStatus } from './states.js';
export { TERMINAL_STATUSES } from './states.js';

export interface ImageError {
  code: ImageErrorCode;
  message: string;
  retryable: boolean;
}

export interface ImageResult {
  id: string;
  status: ImageStatus;
  image: EncodedImage | null;
  /** As generated: multiples of 16. */
  dimensions: Dimensions;
  requestedDimensions: Dimensions;
  attempts: number;
  /** Why the image failed or was cancelled; while RETRYING, why the last attempt failed. */
  error: ImageError | null;
  /** While RETRYING: how long until the next attempt. */
  retryInMs: number | null;
  /** Whether this image shared the upstream call of an identical request earlier in the batch. */
  deduplicated: boolean;
}

export interface GenerationStats {
  total: number;
  successful: number;
  failed: number;
  cancelled: number;
  /** Not yet in a terminal state. total = successful + failed + cancelled + pending. */
  pending: number;
  /** Attempts after the first, summed over the batch. */
  retries: number;
  durationMs: number;
}

export interface Progress {
  completed: number;
  total: number;
  errors: number;
  /** The prompt being worked on most recently, or null when nothing is in flight. */
  current: string | null;
}

/** Emitted for every state change of every image. */
export interface ProgressEvent {
  image: ImageResult;
  progress: Progress;
  stats: GenerationStats;
}

export interface BatchResult {
  status: FinishedJobStatus;
  results: ImageResult[];
  stats: GenerationStats;
}

export interface BatchOptions {
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /** Names the batch in logs; the limiter's turns go by it too. */
  batchId?: string;
  /**
   * Whose batch this is (a token's tenant, or the local tenant). The upstream limiter takes turns across tenants
   * first, then across each tenant's batches, so one client's many jobs cannot push back another client's. Default:
   * one shared tenant.
   */
  tenant?: string;
  /**
   * Upstream attempts already made for these images by a run that did not finish (a replica that died): the
   * attempts go on from there, and they count against maxAttempts. Default 0.
   */
  attemptsSoFar?: number;
}
