import type { ImageRequest } from '../generation/types.js';
import type { StoredJob } from './job-store.js';

/** A job the store has just created, handed to whatever runs its images. */
export interface JobToRun {
  /** As the store created it: `job.id` is the store's key (tenant and id). */
  job: StoredJob;
  /** The validated requests, in the job's order. */
  images: readonly ImageRequest[];
  /** The id its client chose, and its tenant: what logs name the job by. */
  publicId: string;
  tenant: string;
}

/**
 * What the job layer needs from whatever runs a job's images: in this process (LocalJobRunner) or on every replica's
 * share of a Redis queue (RedisWorkQueue). Either one records the images' states and the final event in the job
 * store, which is where readers, cancellers and the job's `finished` promise learn of them.
 */
export interface JobRunner {
  /**
   * Starts the images of a job whose `create` just answered 'created' (its QUEUED events are stored already).
   * Answers once the images are handed over, not when they are done: the job's final event says that.
   */
  run(job: JobToRun): Promise<void>;
  /**
   * Cancels the job: images not started never start, those in flight are aborted, and each ends CANCELLED.
   * Answers false when the job is not one this runner can reach (unknown, or already finished in this process).
   */
  cancel(jobId: string): Promise<boolean>;
  /**
   * Stops taking work, lets what runs finish for up to `graceMs`, then stops the rest: cancelled (its job ends) or,
   * where other replicas can take it, handed back to them.
   */
  drain(graceMs: number): Promise<void>;
  /** Jobs with images running here right now (the jobs_running gauge). */
  readonly runningCount: number;
}
