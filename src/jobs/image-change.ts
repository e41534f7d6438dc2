import type { ImagePatch } from '../generation/batch-tracker.js';
import type { ImageResult } from '../generation/types.js';

/** What a job store records of one state change of an image (see JobStore.recordImage). */
export interface ImageChange {
  patch: ImagePatch;
  /** Attempts after the first that this change starts: counted once per upstream call. */
  retries: number;
}

/**
 * The change a runner records for an image the generation service reports, or undefined for QUEUED (the store wrote
 * every image QUEUED when it created the job). Both runners record through this, so that a job reads the same
 * whichever ran it.
 */
export function imageChangeOf(image: ImageResult): ImageChange | undefined {
  if (image.status === 'QUEUED') return undefined;
  const patch: ImagePatch = {
    status: image.status,
    attempts: image.attempts,
    error: image.error,
    retryInMs: image.retryInMs,
    ...(image.status === 'SUCCEEDED' ? { image: image.image } : {}),
  };
  // Identical requests share one upstream call and report each of its attempts: only the first of them counts it.
  const retries = image.status === 'GENERATING' && image.attempts > 1 && !image.deduplicated ? 1 : 0;
  return { patch, retries };
}
