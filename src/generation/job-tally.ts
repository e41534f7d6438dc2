import type { GenerationStats, Progress } from './types.js';

/**
 * The raw counts of a job, and the one place its stats and progress are derived from them. Both modes keep only
 * these counts: the in-process BatchTracker as running counters, the Redis scripts in the job hash and in every
 * stream event (they must count atomically); both derive with the functions below, so the two cannot disagree.
 */
export interface JobTally {
  total: number;
  successful: number;
  failed: number;
  cancelled: number;
  /** Attempts after the first, summed over the job. */
  retries: number;
  durationMs: number;
}

/** A job of `total` images before anything has happened to them. */
export function emptyTally(total: number): JobTally {
  return { total, successful: 0, failed: 0, cancelled: 0, retries: 0, durationMs: 0 };
}

/** The counts GenerationStats carries (stats are a tally plus what follows from it). */
export function tallyOf(stats: GenerationStats): JobTally {
  const { total, successful, failed, cancelled, retries, durationMs } = stats;
  return { total, successful, failed, cancelled, retries, durationMs };
}

export function statsOf(tally: JobTally): GenerationStats {
  const { total, successful, failed, cancelled, retries, durationMs } = tally;
  return {
    total,
    successful,
    failed,
    cancelled,
    pending: total - successful - failed - cancelled,
    retries,
    durationMs,
  };
}

/**
 * Progress while the job runs. `current` is the prompt most recently set in flight among those still in flight, or
 * null when none is.
 */
export function progressOf(tally: JobTally, current: string | null): Progress {
  return {
    completed: tally.successful + tally.failed + tally.cancelled,
    total: tally.total,
    errors: tally.failed,
    current,
  };
}

/** The progress of a job's final event: nothing is in flight any more. Takes a tally or the job's final stats. */
export function finalProgressOf(tally: JobTally): Progress {
  return progressOf(tally, null);
}
