import type { Logger } from '../logger.js';
import { FairQueue } from './fair-queue.js';
import {
  type BudgetSettings,
  type BudgetState,
  DEFAULT_BUDGET_SETTINGS,
  type Grant,
  initialBudget,
  type SettleResult,
  settle,
  take,
  type UpstreamOutcome,
} from './upstream-budget.js';

export type { UpstreamOutcome } from './upstream-budget.js';

/** One request's place in line. */
export interface AcquireRequest {
  /** Whose client this is: tenants take turns first. */
  tenant: string;
  /** Which job (batch): a tenant's jobs take turns. */
  job: string;
  /** Aborting while the request waits takes it out of the line; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * When this image first met the rate limit (its own 429, or a pause while it waited), in epoch ms. From then it
   * may wait RATE_LIMIT_MAX_WAIT_MS at most; the limiter fails it with RateLimitWaitExceeded after that, or at once
   * when the key's pause ends later than that.
   */
  rateLimitedSince?: number;
}

/** The right to send one request upstream. Release it exactly once, saying how the upstream answered. */
export interface UpstreamPermit {
  /** When this image's rate-limit clock started (it may have started while it waited), or undefined. */
  readonly rateLimitedSince: number | undefined;
  release(outcome: UpstreamOutcome): void;
}

export interface LimiterSnapshot {
  /** The concurrency limit now (it adapts below the maximum). */
  concurrency: number;
  maxConcurrency: number;
  /** The learned rate in requests per second, or null while the limiter does not pace. */
  ratePerSecond: number | null;
  /** Until when (epoch ms) the key is paused on a retry-after; in the past when it is not. */
  pausedUntil: number;
}

/**
 * The one gate between every batch of the process and the upstream, for one API key. The generation service only
 * knows this interface; an implementation shared across replicas (Redis) can take the in-process one's place.
 */
export interface UpstreamLimiter {
  acquire(request: AcquireRequest): Promise<UpstreamPermit>;
  /** Permits held in this process right now: requests in flight. */
  readonly activeCount: number;
  /** Requests of this process waiting for a permit. */
  readonly pendingCount: number;
  snapshot(): LimiterSnapshot;
}

/** A waiting image met a rate limit longer than RATE_LIMIT_MAX_WAIT_MS allows. */
export class RateLimitWaitExceeded extends Error {
  constructor(
    readonly maxWaitMs: number,
    /** When the key's pause ends, if that is what it could not wait for. */
    readonly pausedUntil: number | undefined,
  ) {
    super(`waited on the upstream's rate limit for longer than ${maxWaitMs} ms`);
    this.name = 'RateLimitWaitExceeded';
  }
}

type TakeAnswer = { granted: true; grant: Grant } | { granted: false; reason: string; retryInMs: number | null };
type SettleAnswer = Omit<SettleResult, 'state'>;

/**
 * Where the key's budget lives and where its rules run (src/generation/upstream-budget.ts). A shared store answers
 * with promises (Redis runs a script applying the same rules atomically); the in-memory one answers at once, and the
 * limiter then hands out permits without a trip through the microtask queue per request. `snapshot` answers from
 * what the store last saw, for metrics.
 */
export interface BudgetStore {
  take(now: number): TakeAnswer | Promise<TakeAnswer>;
  settle(grant: Grant, outcome: UpstreamOutcome, now: number): SettleAnswer | Promise<SettleAnswer>;
  snapshot(): BudgetState;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** The budget in this process's memory: what one server needs when it is alone with its key. */
export class MemoryBudgetStore implements BudgetStore {
  private state: BudgetState;

  constructor(
    private readonly settings: BudgetSettings,
    now: number = Date.now(),
  ) {
    this.state = initialBudget(settings, now);
  }

  take(now: number): TakeAnswer {
    const result = take(this.state, this.settings, now);
    this.state = result.state;
    return result.granted
      ? { granted: true, grant: result.grant }
      : { granted: false, reason: result.reason, retryInMs: result.retryInMs };
  }

  settle(grant: Grant, outcome: UpstreamOutcome, now: number): SettleAnswer {
    const { state, changes, addedPauseMs } = settle(this.state, this.settings, grant, outcome, now);
    this.state = state;
    return { changes, addedPauseMs };
  }

  snapshot(): BudgetState {
    return this.state;
  }
}

export interface InProcessUpstreamLimiterOptions {
  /** The most requests in flight (GENERATION_CONCURRENCY). */
  maxConcurrency: number;
  /** How long an image may wait on rate limits once it has met one (RATE_LIMIT_MAX_WAIT_MS). */
  rateLimitMaxWaitMs: number;
  /** Overrides of the budget's floors, caps and margins (tests shorten the growth hold, for one). */
  budget?: Partial<Omit<BudgetSettings, 'maxConcurrency'>>;
  /** Default: a MemoryBudgetStore. */
  store?: BudgetStore;
  logger?: Logger;
  /** How long each request waited for its permit. */
  onQueueWait?: (milliseconds: number) => void;
  /** How much longer the key is now paused on a retry-after. */
  onPause?: (milliseconds: number) => void;
  /** Epoch milliseconds; Date.now by default (retry-after dates are wall-clock times). */
  now?: () => number;
}

interface Waiter {
  tenant: string;
  job: string;
  enqueuedAt: number;
  rateLimitedSince: number | undefined;
  signal: AbortSignal | undefined;
  resolve: (permit: UpstreamPermit) => void;
  reject: (reason: unknown) => void;
  leave: () => void;
}

/**
 * Hands out permits in fair turns (src/generation/fair-queue.ts) whenever the key's budget allows one: not while the
 * key is paused on a retry-after, not above the concurrency limit, not faster than the learned rate. It wakes itself
 * when a pause or a pacing interval ends, when a permit is released, and when a waiter's deadline passes.
 */
export class InProcessUpstreamLimiter implements UpstreamLimiter {
  readonly maxConcurrency: number;
  private readonly queue = new FairQueue<Waiter>();
  /**
   * The waiters whose rate-limit clock runs (rateLimitedSince set): the only ones with a deadline, so the only ones
   * each dispatch looks at. Nearly always empty; a scan of every waiter per permit would cost O(n^2) under load.
   */
  private readonly rateLimited = new Set<Waiter>();
  private readonly store: BudgetStore;
  private readonly now: () => number;
  private active = 0;
  private pumping = false;
  private pumpAgain = false;
  private timer: NodeJS.Timeout | undefined;
  private pauseLoggedUntil = 0;

  constructor(private readonly options: InProcessUpstreamLimiterOptions) {
    const { maxConcurrency, rateLimitMaxWaitMs } = options;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
      throw new TypeError(`maxConcurrency must be a whole number of at least 1, got ${maxConcurrency}`);
    }
    if (!Number.isFinite(rateLimitMaxWaitMs) || rateLimitMaxWaitMs < 0) {
      throw new TypeError(`rateLimitMaxWaitMs must be a number of milliseconds >= 0, got ${rateLimitMaxWaitMs}`);
    }
    this.maxConcurrency = maxConcurrency;
    this.now = options.now ?? Date.now;
    this.store =
      options.store ??
      new MemoryBudgetStore({ ...DEFAULT_BUDGET_SETTINGS, ...options.budget, maxConcurrency }, this.now());
  }

  get activeCount(): number {
    return this.active;
  }

  get pendingCount(): number {
    return this.queue.size;
  }

  /** The concurrency limit now. */
  get concurrency(): number {
    return this.store.snapshot().concurrency;
  }

  snapshot(): LimiterSnapshot {
    const state = this.store.snapshot();
    return {
      concurrency: state.concurrency,
      maxConcurrency: this.maxConcurrency,
      ratePerSecond: state.ratePerSecond,
      pausedUntil: state.pausedUntil,
    };
  }

  acquire(request: AcquireRequest): Promise<UpstreamPermit> {
    const { tenant, job, signal } = request;
    return new Promise<UpstreamPermit>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const waiter: Waiter = {
        tenant,
        job,
        enqueuedAt: performance.now(),
        rateLimitedSince: request.rateLimitedSince,
        signal,
        resolve,
        reject,
        leave: () => {
          if (!this.queue.remove(tenant, job, waiter)) return;
          this.rateLimited.delete(waiter);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiter.leave, { once: true });
      this.queue.push(tenant, job, waiter);
      if (waiter.rateLimitedSince !== undefined) this.rateLimited.add(waiter);
      this.pump();
    });
  }

  /**
   * Gives out permits while the budget allows and someone waits; then sleeps until something can change. Runs at
   * once with a store that answers at once; with one that answers with promises, the rounds go on as they settle.
   */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    this.pumpRounds();
  }

  private pumpRounds(): void {
    try {
      do {
        this.pumpAgain = false;
        const pending = this.dispatch();
        if (pending) {
          pending.then(
            () => {
              if (this.pumpAgain) this.pumpRounds();
              else this.pumping = false;
            },
            (error: unknown) => this.storeFailed(error),
          );
          return;
        }
      } while (this.pumpAgain);
      this.pumping = false;
    } catch (error) {
      this.storeFailed(error);
    }
  }

  private storeFailed(error: unknown): void {
    // A store that failed (a shared one can) must not strand the line: try again shortly.
    this.options.logger?.error({ err: error }, 'upstream limiter could not reach its budget store');
    this.wakeIn(1_000);
    this.pumping = false;
  }

  /** One round: permits while the budget allows. Answers a promise when the store made it wait, else undefined. */
  private dispatch(): Promise<void> | undefined {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (;;) {
      const now = this.now();
      this.failOverdue(now, undefined);
      if (this.queue.size === 0) return undefined;
      const answer = this.store.take(now);
      if (isPromise(answer)) {
        return answer.then((settled) => {
          const next = this.handOut(settled, now);
          return next === true ? this.dispatch() : next;
        });
      }
      const next = this.handOut(answer, now);
      if (next !== true) return next;
    }
  }

  /**
   * Grants the store's answer to whoever's turn it is: true to go on with the next, undefined to stop there, or a
   * promise when an unused grant went back to a store that answers later.
   */
  private handOut(answer: TakeAnswer, now: number): true | Promise<void> | undefined {
    if (!answer.granted) {
      let wait = answer.retryInMs;
      if (answer.reason === 'paused' && answer.retryInMs !== null) {
        this.failOverdue(now, now + answer.retryInMs);
      }
      const deadline = this.earliestDeadline();
      if (deadline !== undefined) wait = Math.min(wait ?? Number.POSITIVE_INFINITY, Math.max(0, deadline - now));
      if (wait !== null && Number.isFinite(wait)) this.wakeIn(wait);
      return undefined;
    }
    const waiter = this.queue.shift();
    if (!waiter) {
      // Everyone left while the store answered: the grant goes back unused.
      const returned = this.store.settle(answer.grant, { kind: 'unused' }, this.now());
      return isPromise(returned) ? returned.then(() => undefined) : undefined;
    }
    this.grant(waiter, answer.grant);
    return true;
  }

  private grant(waiter: Waiter, grant: Grant): void {
    this.rateLimited.delete(waiter);
    waiter.signal?.removeEventListener('abort', waiter.leave);
    this.active += 1;
    this.options.onQueueWait?.(performance.now() - waiter.enqueuedAt);
    let released = false;
    waiter.resolve({
      rateLimitedSince: waiter.rateLimitedSince,
      release: (outcome) => {
        if (released) return;
        released = true;
        this.active -= 1;
        const failed = (error: unknown) => {
          this.options.logger?.error({ err: error }, 'upstream limiter could not report an outcome');
          this.pump();
        };
        const reported = (result: SettleAnswer) => {
          try {
            this.report(result);
          } catch (error) {
            failed(error);
            return;
          }
          this.pump();
        };
        let settled: SettleAnswer | Promise<SettleAnswer>;
        try {
          settled = this.store.settle(grant, outcome, this.now());
        } catch (error) {
          failed(error);
          return;
        }
        if (isPromise(settled)) settled.then(reported, failed);
        else reported(settled);
      },
    });
  }

  private report(result: Omit<SettleResult, 'state'>): void {
    for (const change of result.changes) {
      this.options.logger?.info(
        { limit: change.what, from: change.from, to: change.to, why: change.why },
        `upstream ${change.what === 'rate' ? 'rate (requests per second)' : 'concurrency limit'} changed`,
      );
    }
    if (result.addedPauseMs > 0) {
      this.options.onPause?.(result.addedPauseMs);
      const { pausedUntil } = this.store.snapshot();
      if (this.pauseLoggedUntil <= this.now()) {
        this.options.logger?.warn(
          { pauseMs: pausedUntil - this.now(), until: new Date(pausedUntil).toISOString() },
          'upstream asked to wait: no request goes out with the key until then',
        );
      }
      this.pauseLoggedUntil = pausedUntil;
    }
  }

  /**
   * Starts the rate-limit clock of whoever waits through a pause, and fails the waiters whose deadline has passed,
   * or comes before `pausedUntil` (they could not be sent in time anyway).
   */
  private failOverdue(now: number, pausedUntil: number | undefined): void {
    const maxWait = this.options.rateLimitMaxWaitMs;
    if (pausedUntil !== undefined) {
      for (const waiter of this.queue.items()) {
        if (waiter.rateLimitedSince !== undefined) continue;
        waiter.rateLimitedSince = now;
        this.rateLimited.add(waiter);
      }
    }
    const overdue: Waiter[] = [];
    for (const waiter of this.rateLimited) {
      const deadline = (waiter.rateLimitedSince as number) + maxWait;
      if (deadline <= now || (pausedUntil !== undefined && deadline < pausedUntil)) overdue.push(waiter);
    }
    for (const waiter of overdue) {
      this.queue.remove(waiter.tenant, waiter.job, waiter);
      this.rateLimited.delete(waiter);
      waiter.signal?.removeEventListener('abort', waiter.leave);
      waiter.reject(new RateLimitWaitExceeded(maxWait, pausedUntil));
    }
  }

  private earliestDeadline(): number | undefined {
    let earliest: number | undefined;
    for (const waiter of this.rateLimited) {
      const deadline = (waiter.rateLimitedSince as number) + this.options.rateLimitMaxWaitMs;
      if (earliest === undefined || deadline < earliest) earliest = deadline;
    }
    return earliest;
  }

  private wakeIn(milliseconds: number): void {
    clearTimeout(this.timer);
    // Not unref'd: a CLI run waiting out a retry-after has nothing else keeping it alive.
    this.timer = setTimeout(() => this.pump(), Math.max(0, Math.ceil(milliseconds)));
  }
}
