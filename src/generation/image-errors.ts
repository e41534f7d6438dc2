import type { ImageError } from './types.js';

/** Where a job's image ends when its runner failed unexpectedly (a bug): it says so, and may be asked for again. */
export const INTERNAL_ERROR: ImageError = {
  code: 'INTERNAL',
  message: 'Unexpected error while generating this image.',
  retryable: true,
};

/** Where an image that had not finished ends when its job is cancelled. */
export const CANCELLED_ERROR: ImageError = {
  code: 'CANCELLED',
  message: 'Cancelled before the image was finished.',
  retryable: false,
};
