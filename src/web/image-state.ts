import type { ImageResultFieldsFragment } from '../client/index.js';

export type CardState = 'queued' | 'generating' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';

export interface ImageStateDescription {
  state: CardState;
  /** A word or two for the badge. */
  label: string;
  /** A sentence for the teacher: why it failed, how long until the next attempt, its size once made. */
  detail: string;
}

type ImageState = Pick<ImageResultFieldsFragment, 'status' | 'error' | 'retryInMs' | 'attempts' | 'dimensions'>;

/** How a card shows one image's state, in words. */
export function describeImageState(image: ImageState): ImageStateDescription {
  switch (image.status) {
    case 'QUEUED':
      return { state: 'queued', label: 'Queued', detail: 'Waiting for its turn.' };
    case 'GENERATING':
      return {
        state: 'generating',
        label: 'Generating',
        detail: image.attempts > 1 ? `Attempt ${image.attempts} is being drawn.` : 'Being drawn now.',
      };
    case 'RETRYING': {
      const wait = image.retryInMs === null ? 'shortly' : `in ${formatDuration(image.retryInMs)}`;
      const reason = image.error?.message ?? 'The attempt failed.';
      return { state: 'retrying', label: 'Retrying', detail: `${sentence(reason)} Trying again ${wait}.` };
    }
    case 'SUCCEEDED': {
      const { width, height } = image.dimensions;
      const tries = image.attempts > 1 ? ` after ${image.attempts} attempts` : '';
      return { state: 'succeeded', label: 'Done', detail: `${width} × ${height} px${tries}.` };
    }
    case 'FAILED':
      return {
        state: 'failed',
        label: 'Failed',
        detail: sentence(image.error?.message ?? 'The image could not be made.'),
      };
    case 'CANCELLED':
      return { state: 'cancelled', label: 'Cancelled', detail: 'Cancelled before it was made.' };
  }
}

/** 850 ms, 1.5 s, 2 min 5 s. */
export function formatDuration(milliseconds: number): string {
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  if (milliseconds < 60_000) return `${(milliseconds / 1000).toFixed(1)} s`;
  const seconds = Math.round(milliseconds / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}
