import type { ImagePatch } from '../generation/batch-tracker.js';
import type { EncodedImage } from '../generation/types.js';
import type { GenerationEvent, JobSnapshot } from './types.js';

/** A job as the store keeps it: what readers see, plus what idempotency needs. */
export interface StoredJob extends JobSnapshot {
  /** Identifies the images the job was asked for: the same jobId with other images is a conflict. */
  fingerprint: string;
  owner: string;
}

/** What recordImage needs beyond the change itself. */
export interface ImageDetails {
  /** The prompt of the images changed. */
  prompt: string;
  /** Attempts after the first that this change starts. Default 0. */
  retries?: number;
}

/**
 * 'unstarted' is a shared store's: the job exists with the same images, but the replica that created it failed or
 * died before it handed the images to the runner (see RedisJobStore.create); the caller hands them over now.
 */
export type CreateOutcome = 'created' | 'existing' | 'unstarted' | 'conflict';

export interface GetOptions {
  /**
   * false: the caller reads no picture bytes (a status poll, a `url`), so a store that keeps pictures apart need not
   * load them. Each result's `image` then only says whether there is a picture and its MIME type: its `bytes` may be
   * empty. Default true.
   */
  pictures?: boolean;
}

export interface FollowOptions {
  /** How long to wait for a job id that is not known yet. */
  waitMs: number;
  signal: AbortSignal;
  /** Yield only events whose sequence is greater than this (a reconnecting reader's last one). Default 0: all. */
  after?: number;
}

/**
 * Where jobs and their progress events live. The in-memory store serves one process; a shared store (for several
 * servers behind a load balancer) implements the same interface.
 */
export interface JobStore {
  /**
   * Adds the job unless its id is taken, with one QUEUED event per image as its events 1 to n, so that a subscriber
   * sees the whole batch from its first event whoever runs it. Answers 'created', 'existing' (the id is taken by a job
   * with the same fingerprint: the same request again) or 'conflict' (taken by other images); only 'created' adds.
   */
  create(job: StoredJob): Promise<CreateOutcome>;
  get(id: string, options?: GetOptions): Promise<StoredJob | undefined>;
  /**
   * One picture of a job by the caller's request id, when the store can read it alone (a shared store, where a job's
   * pictures are not all in memory); without it, the job is read whole.
   */
  image?(id: string, requestId: string): Promise<EncodedImage | undefined>;
  /**
   * Applies one state change to the images at `indexes` (identical requests share one upstream call) and appends one
   * event per image changed, numbered after the job's last. An image already final is left alone (a retried or
   * recovered task never records a second final state); `retries` are added to the job's count either way. The change
   * that makes the last image final also finishes the job, exactly once whoever records it: COMPLETED, or CANCELLED
   * once `cancel` has flagged it, with its final event. `prompt` is the images' own: the newest prompt in flight is
   * every event's `current`. Answers how many events it appended (the final one included); 0 for an unknown or
   * finished job.
   */
  recordImage(id: string, indexes: readonly number[], patch: ImagePatch, details: ImageDetails): Promise<number>;
  /**
   * Flags the job cancelled and settles its images that have not started (QUEUED) CANCELLED; images in flight are
   * settled by whoever runs them, once aborted (the runner's part). False when the job is unknown; a finished job is
   * left as it is.
   */
  cancel(id: string): Promise<boolean>;
  /** Whether `cancel` flagged the job before it finished. */
  isCancelled(id: string): Promise<boolean>;
  /**
   * The job's events after sequence `after` (from 1 by default): those already emitted first, then live ones, ending
   * after the event with done: true. Ends at once, yielding nothing, when the id stays unknown for `waitMs` (the
   * caller reports that), or when `after` is at or past the final event.
   */
  follow(id: string, options: FollowOptions): AsyncIterable<GenerationEvent>;
  /** The job once its final event is stored (at once when it is already); undefined when the job is unknown. */
  finished(id: string, options?: GetOptions): Promise<StoredJob | undefined>;
  close(): Promise<void>;
}
