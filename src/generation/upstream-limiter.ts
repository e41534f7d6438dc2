import pLimit, { type LimitFunction } from 'p-limit';

export interface RunOptions {
  /** Whose request this is (a job): free slots go round-robin across keys, so no batch starves another. */
  key?: string;
  /** Aborting while the task still waits for a slot takes it out of the line; its promise rejects with the reason. */
  signal?: AbortSignal;
}

interface Waiting {
  enqueuedAt: number;
  start: () => void;
}

/**
 * The one gate between every batch of the process and the upstream: at most `concurrency` requests in flight.
 *
 * Free slots are handed out fairly: each key (job) waits in its own line and the lines take turns (the one served
 * longest ago goes next), so a 100-image batch cannot hold back a 4-image one that arrives after it. p-limit does the
 * counting; this class decides who is next.
 *
 * The limit adapts to what the upstream accepts. Together's limits are dynamic per organisation and model, so a 429
 * or 503 lowers the limit to the number of requests the upstream was carrying when it said no, and a run of
 * successes raises it again by one, up to the configured maximum (additive increase, fast decrease).
 */
export class UpstreamLimiter {
  readonly maxConcurrency: number;
  private readonly limit: LimitFunction;
  private readonly lines = new Map<string, Waiting[]>();
  /** When each key was last given a slot: the line served longest ago goes next. */
  private readonly lastServed = new Map<string, number>();
  private servings = 0;
  private successesSinceChange = 0;

  constructor(
    maxConcurrency: number,
    private readonly onQueueWait?: (milliseconds: number) => void,
  ) {
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
      throw new TypeError(`maxConcurrency must be a whole number of at least 1, got ${maxConcurrency}`);
    }
    this.maxConcurrency = maxConcurrency;
    this.limit = pLimit(maxConcurrency);
  }

  /** Runs `task` once a slot is free and it is this key's turn. */
  run<T>(task: () => Promise<T>, options: RunOptions = {}): Promise<T> {
    const { key = '', signal } = options;
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const waiting: Waiting = {
        enqueuedAt: performance.now(),
        start: () => {
          signal?.removeEventListener('abort', leave);
          this.onQueueWait?.(performance.now() - waiting.enqueuedAt);
          this.limit(task)
            .then(resolve, reject)
            .finally(() => this.dispatch());
        },
      };
      const leave = () => {
        const line = this.lines.get(key);
        const index = line?.indexOf(waiting) ?? -1;
        if (line && index >= 0) {
          line.splice(index, 1);
          if (line.length === 0) this.lines.delete(key);
          reject(signal?.reason);
        }
      };
      signal?.addEventListener('abort', leave, { once: true });
      const line = this.lines.get(key);
      if (line) line.push(waiting);
      else this.lines.set(key, [waiting]);
      this.dispatch();
    });
  }

  get concurrency(): number {
    return this.limit.concurrency;
  }

  get activeCount(): number {
    return this.limit.activeCount;
  }

  /** Requests waiting for a slot, across every key. */
  get pendingCount(): number {
    let waiting = this.limit.pendingCount;
    for (const line of this.lines.values()) waiting += line.length;
    return waiting;
  }

  /** Call from inside a task that the upstream turned away for load (429, 503); the task still holds its slot. */
  recordOverload(): void {
    const othersInFlight = this.limit.activeCount - 1;
    const lowered = Math.max(1, Math.min(this.limit.concurrency - 1, othersInFlight));
    if (lowered < this.limit.concurrency) this.limit.concurrency = lowered;
    this.successesSinceChange = 0;
  }

  /** Call when the upstream answered a request; after two full windows of successes the limit grows by one. */
  recordSuccess(): void {
    if (this.limit.concurrency >= this.maxConcurrency) return;
    this.successesSinceChange += 1;
    if (this.successesSinceChange >= 2 * this.limit.concurrency) {
      this.limit.concurrency += 1;
      this.successesSinceChange = 0;
      this.dispatch();
    }
  }

  /** Hands free slots to the lines in turn: the line whose key was served longest ago (or never) goes next. */
  private dispatch(): void {
    while (this.limit.activeCount + this.limit.pendingCount < this.limit.concurrency && this.lines.size > 0) {
      let chosen: string | undefined;
      let oldest = Infinity;
      for (const key of this.lines.keys()) {
        const served = this.lastServed.get(key) ?? -1;
        if (served < oldest) {
          oldest = served;
          chosen = key;
        }
      }
      const line = this.lines.get(chosen as string) as Waiting[];
      const next = line.shift() as Waiting;
      if (line.length === 0) this.lines.delete(chosen as string);
      this.lastServed.set(chosen as string, ++this.servings);
      this.forgetIdleKeys();
      next.start();
    }
  }

  /** Keys with nothing waiting only matter while they are recent; forgetting old ones keeps the map small. */
  private forgetIdleKeys(): void {
    if (this.lastServed.size <= 2 * this.lines.size + 64) return;
    for (const key of this.lastServed.keys()) if (!this.lines.has(key)) this.lastServed.delete(key);
  }
}
