import pLimit, { type LimitFunction } from 'p-limit';

/**
 * The one gate between every batch of the process and the upstream: at most `concurrency` requests in flight.
 *
 * The limit adapts to what the upstream accepts. Together's limits are dynamic per organisation and model, so a 429
 * or 503 lowers the limit to the number of requests the upstream was carrying when it said no, and a run of
 * successes raises it again by one, up to the configured maximum (additive increase, fast decrease).
 */
export class UpstreamLimiter {
  readonly maxConcurrency: number;
  private readonly limit: LimitFunction;
  private successesSinceChange = 0;

  constructor(maxConcurrency: number) {
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
      throw new TypeError(`maxConcurrency must be a whole number of at least 1, got ${maxConcurrency}`);
    }
    this.maxConcurrency = maxConcurrency;
    this.limit = pLimit(maxConcurrency);
  }

  /** Runs `task` once a slot is free. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.limit(task);
  }

  get concurrency(): number {
    return this.limit.concurrency;
  }

  get activeCount(): number {
    return this.limit.activeCount;
  }

  get pendingCount(): number {
    return this.limit.pendingCount;
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
    }
  }
}
