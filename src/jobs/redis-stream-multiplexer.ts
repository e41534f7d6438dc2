import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/** Stream entry fields as Redis answers them: [name, value, name, value ...]. */
export type EntryFields = string[];

interface Waiter {
  /** The last sequence the caller has; it wants the entries after it. */
  after: number;
  resolve: (entries: EntryFields[] | undefined) => void;
}

/**
 * Follows any number of job streams over ONE blocking connection: every subscriber of the replica asks for "the
 * entries of this stream after this id", and a single XREAD BLOCK serves them all. A subscriber that arrives while
 * the read is blocked interrupts it (CLIENT UNBLOCK) so that its stream joins the next read at once.
 *
 * Stream ids are `0-<sequence>`, so "after" is a number. XREAD also waits on a stream that does not exist yet, which
 * is how a subscription made before its job starts gets the job's first events.
 */
export class StreamMultiplexer {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private loop: Promise<void> | undefined;
  private closed = false;
  /** The blocking connection's client id, for CLIENT UNBLOCK; read again after every reconnection. */
  private blockingId: number | undefined;
  /** What the read in progress covers: stream key to the sequence it reads after. */
  private reading: Map<string, number> | undefined;
  private iteration = 0;

  constructor(
    private readonly blocking: Redis,
    private readonly control: Redis,
    private readonly logger: Logger,
    private readonly blockMs = 5000,
  ) {
    blocking.on('ready', () => {
      this.blockingId = undefined;
    });
  }

  /**
   * The entries of `key` after sequence `after`, as soon as there are some. Answers undefined when `signal` aborts
   * or `timeoutMs` passes first.
   */
  next(key: string, after: number, signal: AbortSignal, timeoutMs?: number): Promise<EntryFields[] | undefined> {
    if (signal.aborted || this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        after,
        resolve: (entries) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', leave);
          const set = this.waiters.get(key);
          set?.delete(waiter);
          if (set?.size === 0) this.waiters.delete(key);
          resolve(entries);
        },
      };
      const leave = () => waiter.resolve(undefined);
      signal.addEventListener('abort', leave, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(leave, timeoutMs);
      const set = this.waiters.get(key) ?? new Set();
      set.add(waiter);
      this.waiters.set(key, set);
      this.wake(key, after);
    });
  }

  /** Subscribers waiting right now, across every stream. */
  get waiting(): number {
    let count = 0;
    for (const set of this.waiters.values()) count += set.size;
    return count;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const set of [...this.waiters.values()]) for (const waiter of [...set]) waiter.resolve(undefined);
    await this.interrupt();
    await this.loop;
  }

  private wake(key: string, after: number): void {
    if (!this.loop) {
      this.loop = this.run().finally(() => {
        this.loop = undefined;
        if (this.waiters.size > 0 && !this.closed) this.wake('', 0);
      });
      return;
    }
    const covered = this.reading?.get(key);
    if (this.reading && covered !== undefined && covered <= after) return;
    void this.interruptIteration(this.iteration);
  }

  /** Interrupts the read of `iteration`; if it has not blocked yet, tries again shortly (CLIENT UNBLOCK answers 0). */
  private async interruptIteration(iteration: number): Promise<void> {
    for (let tries = 0; tries < 50 && this.iteration === iteration && !this.closed; tries++) {
      if ((await this.interrupt()) === 1) return;
      await sleep(10);
    }
  }

  private async interrupt(): Promise<number> {
    if (this.blockingId === undefined) return 0;
    try {
      return Number(await this.control.client('UNBLOCK', this.blockingId));
    } catch {
      return 0;
    }
  }

  private async run(): Promise<void> {
    while (this.waiters.size > 0 && !this.closed) {
      this.iteration += 1;
      const reading = new Map<string, number>();
      for (const [key, set] of this.waiters) {
        for (const waiter of set) reading.set(key, Math.min(reading.get(key) ?? Infinity, waiter.after));
      }
      try {
        this.blockingId ??= Number(await this.blocking.client('ID'));
        this.reading = reading;
        const keys = [...reading.keys()];
        const answer = (await this.blocking.xread(
          'COUNT',
          500,
          'BLOCK',
          this.blockMs,
          'STREAMS',
          ...keys,
          ...keys.map((key) => `0-${reading.get(key)}`),
        )) as Array<[string, Array<[string, EntryFields]>]> | null;
        this.reading = undefined;
        for (const [key, entries] of answer ?? []) this.deliver(key, entries, reading.get(key) ?? Infinity);
      } catch (error) {
        this.reading = undefined;
        if (this.closed) return;
        this.logger.debug({ err: { message: (error as Error).message } }, 'stream read failed; trying again');
        await sleep(500);
      }
    }
  }

  /** Hands the entries read after `readAfter` to the waiters they cover; a waiter further behind waits for its own read. */
  private deliver(key: string, entries: Array<[string, EntryFields]>, readAfter: number): void {
    const set = this.waiters.get(key);
    if (!set) return;
    for (const waiter of [...set]) {
      if (waiter.after < readAfter) continue;
      const fresh = entries.filter(([id]) => Number(id.slice(2)) > waiter.after).map(([, fields]) => fields);
      if (fresh.length > 0) waiter.resolve(fresh);
    }
  }
}
