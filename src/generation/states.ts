/**
 * The one vocabulary of where a job and its images are. The generation service, both job stores (the Redis one's Lua
 * scripts too), the GraphQL enums and the metrics all take their states from here, so a state cannot be added or
 * renamed in one place and forgotten in another.
 */

export const IMAGE_STATUSES = ['QUEUED', 'GENERATING', 'RETRYING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

/** An image in one of these states never changes again. */
export const FINAL_IMAGE_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED'] as const satisfies readonly ImageStatus[];
export type FinalImageStatus = (typeof FINAL_IMAGE_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<ImageStatus> = new Set(FINAL_IMAGE_STATUSES);

export function isFinalImageStatus(status: ImageStatus): status is FinalImageStatus {
  return TERMINAL_STATUSES.has(status);
}

/** Which stats counter a final image adds to. */
export const STATS_COUNTER_OF: Readonly<Record<FinalImageStatus, 'successful' | 'failed' | 'cancelled'>> = {
  SUCCEEDED: 'successful',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
};

export const IMAGE_STATUS_DESCRIPTIONS: Readonly<Record<ImageStatus, string>> = {
  QUEUED: 'Waiting for a free upstream slot.',
  GENERATING: 'An attempt is in flight.',
  RETRYING:
    'The last attempt failed for a reason that can pass; `error` says why and `retryInMs` when the next one starts.',
  SUCCEEDED: 'Done: `image` holds the picture.',
  FAILED: 'Done without a picture: `error` says why.',
  CANCELLED: 'Stopped before it finished, by cancelGeneration or a server shutdown.',
};

export const JOB_STATUSES = ['RUNNING', 'COMPLETED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** How a job ended: every image is final. */
export type FinishedJobStatus = Exclude<JobStatus, 'RUNNING'>;

export const JOB_STATUS_DESCRIPTIONS: Readonly<Record<JobStatus, string>> = {
  RUNNING: 'Some images are not final yet.',
  COMPLETED: 'Every image has SUCCEEDED or FAILED.',
  CANCELLED: 'The job was cancelled; images not finished by then are CANCELLED.',
};

/** The enum values Pothos takes: each state with its description. */
export function describedValues<S extends string>(
  descriptions: Readonly<Record<S, string>>,
): Record<S, { description: string }> {
  return Object.fromEntries(
    Object.entries<string>(descriptions).map(([state, description]) => [state, { description }]),
  ) as Record<S, { description: string }>;
}
