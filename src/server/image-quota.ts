export type QuotaDecision =
  | { allowed: true }
  /** `retryAfterSeconds` is absent when the request asks for more than a whole minute's quota: waiting cannot help. */
  | { allowed: false; limit: number; used: number; retryAfterSeconds?: number };

/**
 * Images per minute per owner, over a sliding window: a request fits when the images taken in the last 60 seconds
 * plus its own stay within the limit. A refused request takes nothing. In memory for one process
 * (MemoryImageQuota), or in Redis shared by every replica (RedisImageQuota in redis-image-quota.ts), so that N replicas
 * do not give a client N times its quota. Both follow the same contract (test/image-quota.test.ts).
 */
export interface ImageQuota {
  readonly imagesPerMinute: number;
  /** False at 0 images per minute: every request passes and nothing is counted. */
  readonly enabled: boolean;
  /** Takes `count` images from the owner's minute when they fit; rejects when the count cannot be reached. */
  take(owner: string, count: number): Promise<QuotaDecision>;
}

/** The sliding window, shared by both implementations. */
export const QUOTA_WINDOW_MS = 60_000;

/** Throws unless `imagesPerMinute` is a whole number from 0. */
export function checkImagesPerMinute(imagesPerMinute: number): void {
  if (!Number.isSafeInteger(imagesPerMinute) || imagesPerMinute < 0) {
    throw new TypeError(`imagesPerMinute must be a whole number from 0, got ${imagesPerMinute}`);
  }
}

/** Seconds to tell a client to wait, from the milliseconds until enough images leave the window. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

interface Spent {
  at: number;
  count: number;
}

const WINDOW_MS = QUOTA_WINDOW_MS;

/** The quota of one process, kept in its memory: the default without REDIS_URL. */
export class MemoryImageQuota implements ImageQuota {
  private readonly spentByOwner = new Map<string, Spent[]>();
  private lastSweep: number;

  constructor(
    readonly imagesPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    checkImagesPerMinute(imagesPerMinute);
    this.lastSweep = now();
  }

  get enabled(): boolean {
    return this.imagesPerMinute > 0;
  }

  async take(owner: string, count: number): Promise<QuotaDecision> {
    return this.takeNow(owner, count);
  }

  private takeNow(owner: string, count: number): QuotaDecision {
    if (!this.enabled || count <= 0) return { allowed: true };
    const now = this.now();
    this.sweep(now);
    const spent = this.current(owner, now);
    const used = spent.reduce((sum, entry) => sum + entry.count, 0);
    const limit = this.imagesPerMinute;
    if (used + count <= limit) {
      spent.push({ at: now, count });
      this.spentByOwner.set(owner, spent);
      return { allowed: true };
    }
    if (count > limit) return { allowed: false, limit, used };
    // Wait until enough of the oldest requests leave the window.
    let freed = 0;
    for (const entry of spent) {
      freed += entry.count;
      if (used - freed + count <= limit) {
        return {
          allowed: false,
          limit,
          used,
          retryAfterSeconds: retryAfterSeconds(entry.at + WINDOW_MS - now),
        };
      }
    }
    return { allowed: false, limit, used, retryAfterSeconds: WINDOW_MS / 1000 };
  }

  private current(owner: string, now: number): Spent[] {
    const spent = this.spentByOwner.get(owner) ?? [];
    const firstLive = spent.findIndex((entry) => entry.at + WINDOW_MS > now);
    if (firstLive === -1) {
      this.spentByOwner.delete(owner);
      return [];
    }
    return firstLive === 0 ? spent : spent.slice(firstLive);
  }

  /** Forgets owners idle for a whole window, so the map does not grow with every address ever seen. */
  private sweep(now: number): void {
    if (now - this.lastSweep < WINDOW_MS) return;
    this.lastSweep = now;
    for (const [owner, spent] of this.spentByOwner) {
      if (spent.every((entry) => entry.at + WINDOW_MS <= now)) this.spentByOwner.delete(owner);
    }
  }
}
