import { type ImagePatch, patchedResult } from '../generation/batch-tracker.js';
import { finalProgressOf, type JobTally, progressOf, statsOf, tallyOf } from '../generation/job-tally.js';
import { isFinalImageStatus, STATS_COUNTER_OF } from '../generation/states.js';
import type { ImageResult } from '../generation/types.js';
import { CANCELLED_ERROR } from '../generation/image-errors.js';
import type { CreateOutcome, FollowOptions, ImageDetails, JobStore, StoredJob } from './job-store.js';
import type { GenerationEvent } from './types.js';

export interface MemoryJobStoreOptions {
  /** How long a finished job stays readable. */
  retentionMs: number;
  /** At most this many finished jobs are kept; the oldest go first. Running jobs are never dropped. */
  maxRetained: number;
  /** At most this many image bytes are kept across finished jobs; the oldest go first. */
  maxRetainedBytes?: number;
  now?: () => number;
}

interface Entry {
  /** What readers get: rebuilt from the fields below on the first read after a change, and once when finished. */
  job: StoredJob;
  /** The images' latest results, replaced one by one as they change (no copy per change). */
  results: ImageResult[];
  /** Whether `results` or `tally` changed since `job` was built. */
  changed: boolean;
  /** Raw counts, as the Redis store keeps them in the job hash: stats and progress are derived by job-tally.ts. */
  tally: JobTally;
  /** Prompts of the images in flight, by index, most recently started last: `current` names the newest. */
  flight: Map<number, string>;
  /** Set by cancel(): the job ends CANCELLED. */
  cancelled: boolean;
  /** Image bytes the job holds, counted once it has finished. */
  bytes: number;
  /**
   * When the store saw the job finish, by its own clock, so that finish order and time order agree and expiry can
   * stop at the first job still within its retention.
   */
  finishedAt?: number;
  /** Neighbours in the list of finished jobs, in finish order. */
  older?: Entry;
  newer?: Entry;
  events: GenerationEvent[];
  /** Woken when an event is appended. */
  listeners: Set<() => void>;
  /** Waiting for the final event (JobStore.finished); created by the first to wait. */
  finishing?: Array<(job: StoredJob) => void>;
}

/**
 * Jobs of this process, in memory. Memory stays bounded under steady use: finished jobs leave after the retention
 * time or when more than `maxRetained` (or more than `maxRetainedBytes` of images) are kept. A subscriber is a cursor
 * over the job's one event log, so a slow subscriber costs no copy of the events.
 *
 * Finished jobs are kept in the order they finished, with a running total of their bytes, so that the oldest is
 * always at the front: starting or finishing a job costs the same whether 10 or 100,000 finished jobs are kept.
 */
export class MemoryJobStore implements JobStore {
  private readonly entries = new Map<string, Entry>();
  /**
   * Finished jobs as a list in finish order, linked through their entries: appending, dropping the oldest and removing
   * one from the middle all cost the same however many are kept. (A Map's insertion order would do, but V8 leaves a
   * hole per deleted key until it rehashes, so finding its first key again and again gets slower as it grows.)
   */
  private oldest: Entry | undefined;
  private newest: Entry | undefined;
  private finishedCount = 0;
  /** Image bytes of every finished job together. */
  private finishedBytes = 0;
  /** Subscribers waiting for a job id that is not known yet. */
  private readonly awaited = new Map<string, Set<() => void>>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: MemoryJobStoreOptions) {
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.dropExpired(), Math.min(options.retentionMs, 60_000));
    this.sweeper.unref();
  }

  async create(job: StoredJob): Promise<CreateOutcome> {
    // No await before the job is in: two creates of one id at once must not both see it free.
    this.dropExpired();
    const existing = this.entries.get(job.id)?.job;
    if (existing) return existing.fingerprint === job.fingerprint ? 'existing' : 'conflict';
    // The job's first events: every image QUEUED, nothing in flight.
    const progress = progressOf(job.stats, null);
    const events = job.results.map(
      (image, index): GenerationEvent => ({
        jobId: job.id,
        sequence: index + 1,
        image,
        progress,
        stats: job.stats,
        done: false,
      }),
    );
    this.entries.set(job.id, {
      job,
      results: [...job.results],
      changed: false,
      tally: tallyOf(job.stats),
      flight: new Map(),
      cancelled: false,
      bytes: 0,
      events,
      listeners: new Set(),
    });
    const waiting = this.awaited.get(job.id);
    this.awaited.delete(job.id);
    waiting?.forEach((wake) => wake());
    return 'created';
  }

  async get(id: string): Promise<StoredJob | undefined> {
    const entry = this.entries.get(id);
    if (entry && this.expired(entry)) {
      this.remove(id, entry);
      return undefined;
    }
    if (!entry) return undefined;
    if (entry.changed) {
      entry.job = { ...entry.job, results: [...entry.results], stats: statsOf(this.tallyAt(entry, this.now())) };
      entry.changed = false;
    }
    return entry.job;
  }

  async recordImage(id: string, indexes: readonly number[], patch: ImagePatch, details: ImageDetails): Promise<number> {
    const entry = this.entries.get(id);
    if (!entry || entry.job.finishedAt !== null) return 0;
    const now = this.now();
    entry.tally.retries += details.retries ?? 0;
    entry.changed = true;
    let appended = 0;
    for (const index of indexes) appended += this.settle(entry, index, patch, details.prompt, now);
    if (this.finishIfDone(entry, now)) appended += 1;
    return appended;
  }

  async cancel(id: string): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry || this.expired(entry)) return false;
    if (entry.job.finishedAt !== null) return true;
    entry.cancelled = true;
    const now = this.now();
    const patch: ImagePatch = { status: 'CANCELLED', error: CANCELLED_ERROR };
    entry.results.forEach((result, index) => {
      if (result.status === 'QUEUED') this.settle(entry, index, patch, '', now);
    });
    this.finishIfDone(entry, now);
    return true;
  }

  async isCancelled(id: string): Promise<boolean> {
    return this.entries.get(id)?.cancelled ?? false;
  }

  async *follow(id: string, options: FollowOptions): AsyncGenerator<GenerationEvent> {
    const entry = this.entries.get(id) ?? (await this.waitForJob(id, options));
    if (!entry) return;
    // Sequences are 1, 2, 3 ... so the event after `after` sits at index `after`.
    let next = Math.max(0, options.after ?? 0);
    if (entry.events.at(-1)?.done && next >= entry.events.length) return;
    while (!options.signal.aborted) {
      // An aborted follower stops at once, even with events still to read.
      while (next < entry.events.length && !options.signal.aborted) {
        const event = entry.events[next++] as GenerationEvent;
        yield event;
        if (event.done) return;
      }
      await this.nextEvent(entry, options.signal);
    }
  }

  async finished(id: string): Promise<StoredJob | undefined> {
    const entry = this.entries.get(id);
    if (!entry || this.expired(entry)) return undefined;
    if (entry.events.at(-1)?.done) return entry.job;
    return new Promise((resolve) => {
      entry.finishing ??= [];
      entry.finishing.push(resolve);
    });
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  get size(): number {
    return this.entries.size;
  }

  /** One image's change and its event; 0 when the image is unknown or final already, else 1. */
  private settle(entry: Entry, index: number, patch: ImagePatch, prompt: string, now: number): number {
    const next = patchedResult(entry.results[index], patch);
    if (!next) return 0;
    entry.results[index] = next;
    if (isFinalImageStatus(next.status)) entry.tally[STATS_COUNTER_OF[next.status]] += 1;
    // An image that starts (again) goes last; one that stops leaves, whichever it was.
    entry.flight.delete(index);
    if (next.status === 'GENERATING') entry.flight.set(index, prompt);
    const tally = this.tallyAt(entry, now);
    this.push(entry, {
      jobId: entry.job.id,
      sequence: entry.events.length + 1,
      image: next,
      progress: progressOf(tally, newestOf(entry.flight)),
      stats: statsOf(tally),
      done: false,
    });
    return 1;
  }

  /** Finishes the job once every image is final: its status, its final event, and its place among finished jobs. */
  private finishIfDone(entry: Entry, now: number): boolean {
    const { tally } = entry;
    if (tally.successful + tally.failed + tally.cancelled < tally.total) return false;
    tally.durationMs = Math.max(0, now - entry.job.createdAt.getTime());
    const stats = statsOf(tally);
    entry.job = {
      ...entry.job,
      status: entry.cancelled ? 'CANCELLED' : 'COMPLETED',
      results: [...entry.results],
      stats,
      finishedAt: new Date(now),
    };
    entry.changed = false;
    entry.flight.clear();
    // Identical requests share one buffer: count each once.
    const buffers = new Set<Buffer>();
    for (const result of entry.results) if (result.image) buffers.add(result.image.bytes);
    let bytes = 0;
    for (const buffer of buffers) bytes += buffer.length;
    entry.bytes = bytes;
    entry.finishedAt = now;
    this.append(entry);
    this.push(entry, {
      jobId: entry.job.id,
      sequence: entry.events.length + 1,
      image: null,
      progress: finalProgressOf(tally),
      stats,
      done: true,
    });
    this.dropExpired();
    this.evictOverBudget();
    return true;
  }

  /** The job's counts with its duration so far (fixed once it has finished). */
  private tallyAt(entry: Entry, now: number): JobTally {
    if (entry.job.finishedAt === null) entry.tally.durationMs = Math.max(0, now - entry.job.createdAt.getTime());
    return entry.tally;
  }

  /** Appends an event and wakes whoever waits for one (or, for the final one, for the job to finish). */
  private push(entry: Entry, event: GenerationEvent): void {
    entry.events.push(event);
    if (event.done && entry.finishing) {
      const finishing = entry.finishing;
      entry.finishing = undefined;
      for (const resolve of finishing) resolve(entry.job);
    }
    if (entry.listeners.size === 0) return;
    const listeners = [...entry.listeners];
    entry.listeners.clear();
    listeners.forEach((wake) => wake());
  }

  private nextEvent(entry: Entry, signal: AbortSignal): Promise<void> {
    // Aborted while the follower was busy with the last event: an abort listener added now would never fire.
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        signal.removeEventListener('abort', wake);
        entry.listeners.delete(wake);
        resolve();
      };
      entry.listeners.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  private waitForJob(id: string, options: FollowOptions): Promise<Entry | undefined> {
    if (options.waitMs <= 0 || options.signal.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        options.signal.removeEventListener('abort', done);
        this.awaited.get(id)?.delete(done);
        if (this.awaited.get(id)?.size === 0) this.awaited.delete(id);
        resolve(this.entries.get(id));
      };
      const timer = setTimeout(done, options.waitMs);
      options.signal.addEventListener('abort', done, { once: true });
      const waiting = this.awaited.get(id) ?? new Set();
      waiting.add(done);
      this.awaited.set(id, waiting);
    });
  }

  private expired(entry: Entry): boolean {
    return entry.finishedAt !== undefined && this.now() - entry.finishedAt > this.options.retentionMs;
  }

  private remove(id: string, entry: Entry): void {
    this.entries.delete(id);
    this.unlink(entry);
  }

  private append(entry: Entry): void {
    entry.older = this.newest;
    entry.newer = undefined;
    if (this.newest) this.newest.newer = entry;
    else this.oldest = entry;
    this.newest = entry;
    this.finishedCount += 1;
    this.finishedBytes += entry.bytes;
  }

  /** Takes the entry out of the finished list; nothing happens when it is not in it. */
  private unlink(entry: Entry): void {
    if (entry !== this.oldest && entry.older === undefined) return;
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.newest = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
    this.finishedCount -= 1;
    this.finishedBytes -= entry.bytes;
  }

  /** Drops finished jobs past their retention, from the oldest; stops at the first one still within it. */
  private dropExpired(): void {
    let entry = this.oldest;
    while (entry && this.expired(entry)) {
      const newer = entry.newer;
      // A job with a subscriber still reading is kept until the subscriber is done; a later sweep tries again.
      if (entry.listeners.size === 0) this.remove(entry.job.id, entry);
      entry = newer;
    }
  }

  /** Drops the oldest finished jobs while more than `maxRetained`, or more bytes than `maxRetainedBytes`, are kept. */
  private evictOverBudget(): void {
    const maxBytes = this.options.maxRetainedBytes ?? Infinity;
    // The newest finished job stays whatever its size: its client is about to read it.
    while (
      this.oldest &&
      this.oldest !== this.newest &&
      (this.finishedCount > this.options.maxRetained || this.finishedBytes > maxBytes)
    ) {
      this.remove(this.oldest.job.id, this.oldest);
    }
  }
}

/** The newest prompt in flight: a Map keeps insertion order, and settle() re-inserts an image that starts. */
function newestOf(flight: Map<number, string>): string | null {
  let newest: string | null = null;
  for (const prompt of flight.values()) newest = prompt;
  return newest;
}
