import type { JobStore, StoredJob, FollowOptions } from './job-store.js';
import type { GenerationEvent, JobSnapshot } from './types.js';

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
  job: StoredJob;
  /** Image bytes the job holds, counted once it has finished. */
  bytes: number;
  events: GenerationEvent[];
  /** Woken when an event is appended. */
  listeners: Set<() => void>;
}

/**
 * Jobs of this process, in memory. Memory stays bounded under steady use: finished jobs leave after the retention
 * time or when more than `maxRetained` are kept. A subscriber is a cursor over the job's one event log, so a slow
 * subscriber costs no copy of the events.
 */
export class MemoryJobStore implements JobStore {
  private readonly entries = new Map<string, Entry>();
  /** Subscribers waiting for a job id that is not known yet. */
  private readonly awaited = new Map<string, Set<() => void>>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: MemoryJobStoreOptions) {
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), Math.min(options.retentionMs, 60_000));
    this.sweeper.unref();
  }

  async insert(job: StoredJob): Promise<StoredJob> {
    const existing = this.entries.get(job.id);
    if (existing) return existing.job;
    this.sweep();
    this.entries.set(job.id, { job, bytes: 0, events: [], listeners: new Set() });
    const waiting = this.awaited.get(job.id);
    this.awaited.delete(job.id);
    waiting?.forEach((wake) => wake());
    return job;
  }

  async get(id: string): Promise<StoredJob | undefined> {
    const entry = this.entries.get(id);
    if (entry && this.expired(entry.job)) {
      this.entries.delete(id);
      return undefined;
    }
    return entry?.job;
  }

  async update(id: string, state: Pick<JobSnapshot, 'status' | 'results' | 'stats' | 'finishedAt'>): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.job = { ...entry.job, ...state };
    if (state.finishedAt !== null) {
      // Identical requests share one buffer: count each once.
      const buffers = new Set(state.results.flatMap((result) => (result.image ? [result.image.bytes] : [])));
      entry.bytes = [...buffers].reduce((sum, buffer) => sum + buffer.length, 0);
      this.sweep();
    }
  }

  async appendEvent(event: GenerationEvent): Promise<void> {
    const entry = this.entries.get(event.jobId);
    if (!entry) return;
    entry.events.push(event);
    const listeners = [...entry.listeners];
    entry.listeners.clear();
    listeners.forEach((wake) => wake());
  }

  async *follow(id: string, options: FollowOptions): AsyncGenerator<GenerationEvent> {
    const entry = this.entries.get(id) ?? (await this.waitForJob(id, options));
    if (!entry) return;
    // Sequences are 1, 2, 3 ... so the event after `after` sits at index `after`.
    let next = Math.max(0, options.after ?? 0);
    if (entry.events.at(-1)?.done && next >= entry.events.length) return;
    while (!options.signal.aborted) {
      while (next < entry.events.length) {
        const event = entry.events[next++] as GenerationEvent;
        yield event;
        if (event.done) return;
      }
      await this.nextEvent(entry, options.signal);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  get size(): number {
    return this.entries.size;
  }

  private nextEvent(entry: Entry, signal: AbortSignal): Promise<void> {
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

  private expired(job: StoredJob): boolean {
    return job.finishedAt !== null && this.now() - job.finishedAt.getTime() > this.options.retentionMs;
  }

  private sweep(): void {
    const finished: Entry[] = [];
    for (const [id, entry] of this.entries) {
      // A job with a subscriber still reading is kept until the subscriber is done.
      if (this.expired(entry.job) && entry.listeners.size === 0) this.entries.delete(id);
      else if (entry.job.finishedAt !== null) finished.push(entry);
    }
    let bytes = finished.reduce((sum, entry) => sum + entry.bytes, 0);
    const maxBytes = this.options.maxRetainedBytes ?? Infinity;
    if (finished.length <= this.options.maxRetained && bytes <= maxBytes) return;
    finished.sort((a, b) => (a.job.finishedAt?.getTime() ?? 0) - (b.job.finishedAt?.getTime() ?? 0));
    let count = finished.length;
    // The newest finished job stays whatever its size: its client is about to read it.
    for (const entry of finished.slice(0, -1)) {
      if (count <= this.options.maxRetained && bytes <= maxBytes) break;
      this.entries.delete(entry.job.id);
      count -= 1;
      bytes -= entry.bytes;
    }
  }
}
