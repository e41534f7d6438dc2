import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  type BudgetSettings,
  type BudgetState,
  type Grant,
  initialBudget,
  type SettleResult,
  settle,
  take,
  type UpstreamOutcome,
} from '../generation/upstream-budget.js';
import type { BudgetStore } from '../generation/upstream-limiter.js';

export interface RedisBudgetStoreOptions {
  /** A connection of its own: WATCH holds for the connection, so this store must be its only user. */
  redis: Redis;
  /** The key holding the budget, e.g. "wi:budget". */
  key: string;
  settings: BudgetSettings;
  /**
   * How long a granted request may stay unsettled before it is counted as ended whatever happens: longer than any
   * request can take (UPSTREAM_TIMEOUT_MS and then some).
   */
  leaseMs: number;
  /**
   * A replica that stops renewing its presence for this long is dead: the requests it held are counted as ended at
   * once, so that its upstream slots come back within seconds, not after `leaseMs`. Default 10 s (renewed every third).
   */
  presenceMs?: number;
  /**
   * How soon to ask again when the concurrency limit is reached: a request ending on another replica does not wake
   * this one, so it looks again after this long.
   */
  pollMs?: number;
}

/** The shared budget in Redis: the state, and the grants not yet settled with when they lapse. */
interface Stored {
  state: BudgetState;
  leases: Record<string, { takenAt: number; expiresAt: number; replica: string }>;
}

type LeasedGrant = Grant & { lease?: string };

type TakeAnswer = Awaited<ReturnType<BudgetStore['take']>>;

/**
 * The upstream key's budget shared by every replica: the same pure rules as the in-process store
 * (src/generation/upstream-budget.ts), applied to one state in Redis under optimistic locking (WATCH, then MULTI/EXEC;
 * a conflict with another replica runs the rule again on the fresh state). So a 429 met by any replica pauses them all,
 * and the learned rate and concurrency limit are the key's, not each replica's. A replica that dies holding grants
 * does not keep their slots: each grant is a lease that lapses after `leaseMs`.
 */
export class RedisBudgetStore implements BudgetStore {
  private last: BudgetState;
  /** One read-modify-write at a time on the connection (WATCH is the connection's). */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly replica = randomUUID();
  private readonly presence: NodeJS.Timeout;

  constructor(private readonly options: RedisBudgetStoreOptions) {
    this.last = initialBudget(options.settings, Date.now());
    const presenceMs = options.presenceMs ?? 10_000;
    const renew = () => {
      options.redis.set(this.presenceKey(this.replica), '1', 'PX', presenceMs).catch(() => {});
    };
    renew();
    this.presence = setInterval(renew, Math.max(100, Math.floor(presenceMs / 3)));
    this.presence.unref();
  }

  /** Stops announcing this replica (its held requests then lapse for the others once its presence expires). */
  close(): void {
    clearInterval(this.presence);
  }

  private presenceKey(replica: string): string {
    return `${this.options.key}:replica:${replica}`;
  }

  async take(now: number): Promise<TakeAnswer> {
    return this.update<TakeAnswer>(now, (stored) => {
      const result = take(stored.state, this.options.settings, now);
      stored.state = result.state;
      if (!result.granted) {
        const retryInMs = result.retryInMs ?? this.options.pollMs ?? 100;
        return { answer: { granted: false as const, reason: result.reason, retryInMs } };
      }
      const lease = randomUUID();
      stored.leases[lease] = {
        takenAt: result.grant.takenAt,
        expiresAt: now + this.options.leaseMs,
        replica: this.replica,
      };
      const grant: LeasedGrant = { ...result.grant, lease };
      return { answer: { granted: true as const, grant } };
    });
  }

  async settle(grant: Grant, outcome: UpstreamOutcome, now: number): Promise<Omit<SettleResult, 'state'>> {
    const { lease } = grant as LeasedGrant;
    return this.update(now, (stored) => {
      // A lease that lapsed was settled as ended already: its slot must not be given back twice.
      if (lease !== undefined && !(lease in stored.leases)) return { answer: { changes: [], addedPauseMs: 0 } };
      if (lease !== undefined) delete stored.leases[lease];
      const { state, changes, addedPauseMs } = settle(stored.state, this.options.settings, grant, outcome, now);
      stored.state = state;
      return { answer: { changes, addedPauseMs } };
    });
  }

  snapshot(): BudgetState {
    return this.last;
  }

  /** Runs `change` on the stored budget atomically: again on a fresh copy if another replica wrote in between. */
  private update<T>(now: number, change: (stored: Stored) => { answer: T }): Promise<T> {
    const run = async (): Promise<T> => {
      const { redis, key } = this.options;
      for (let attempt = 0; ; attempt++) {
        await redis.watch(key);
        const raw = await redis.get(key);
        const stored: Stored = raw
          ? (JSON.parse(raw) as Stored)
          : { state: initialBudget(this.options.settings, now), leases: {} };
        await this.expireLeases(stored, now);
        const { answer } = change(stored);
        const written = await redis.multi().set(key, JSON.stringify(stored)).exec();
        if (written !== null) {
          this.last = stored.state;
          return answer;
        }
        if (attempt >= 50) throw new Error('the shared upstream budget stays contended');
      }
    };
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => {});
    return result;
  }

  /** Requests held past their lease, or by a replica no longer present, are counted as ended. */
  private async expireLeases(stored: Stored, now: number): Promise<void> {
    const others = [...new Set(Object.values(stored.leases).map(({ replica }) => replica))].filter(
      (replica) => replica !== this.replica,
    );
    const present = others.length
      ? await this.options.redis.mget(...others.map((replica) => this.presenceKey(replica)))
      : [];
    const gone = new Set(others.filter((_, index) => present[index] === null));
    for (const [lease, { takenAt, expiresAt, replica }] of Object.entries(stored.leases)) {
      if (expiresAt > now && !gone.has(replica)) continue;
      delete stored.leases[lease];
      stored.state = settle(stored.state, this.options.settings, { takenAt }, { kind: 'other' }, now).state;
    }
  }
}
