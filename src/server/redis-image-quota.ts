import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  checkImagesPerMinute,
  type ImageQuota,
  QUOTA_WINDOW_MS,
  type QuotaDecision,
  retryAfterSeconds,
} from './image-quota.js';

/**
 * One owner's sliding minute, atomically: KEYS[1] is a sorted set of the requests let through (score = when, in ms;
 * member = "<images>:<unique id>"), KEYS[2] the images they hold in all, so that letting a request through costs
 * O(log n) and not a sum over the minute. Requests older than the window leave both first. Both keys expire a window
 * after the last request let through, so an idle owner leaves nothing behind.
 *
 * ARGV: now (ms), images asked for, limit, window (ms), a unique id.
 * Answers { 1 } when let through; { 0, used, waitMs } when not, waitMs = -1 when waiting cannot help.
 */
const TAKE_SCRIPT = `
local log, total = KEYS[1], KEYS[2]
local now, count, limit, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function images(member) return tonumber(string.match(member, '^(%d+):')) or 0 end
local used = tonumber(redis.call('GET', total) or '')
if used == nil then
  used = 0
  for _, member in ipairs(redis.call('ZRANGE', log, 0, -1)) do used = used + images(member) end
end
local expired = redis.call('ZRANGEBYSCORE', log, '-inf', now - window)
if #expired > 0 then
  for _, member in ipairs(expired) do used = used - images(member) end
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
end
if used < 0 then used = 0 end
if used + count <= limit then
  redis.call('ZADD', log, now, count .. ':' .. ARGV[5])
  redis.call('PEXPIRE', log, window)
  redis.call('SET', total, used + count, 'PX', window)
  return { 1 }
end
if used == 0 then
  redis.call('DEL', log, total)
elseif #expired > 0 then
  redis.call('SET', total, used, 'KEEPTTL')
end
if count > limit then return { 0, used, -1 } end
-- Oldest first, until enough images would have left the window.
local freed, offset = 0, 0
while true do
  local page = redis.call('ZRANGE', log, offset, offset + 99, 'WITHSCORES')
  if #page == 0 then break end
  for i = 1, #page, 2 do
    freed = freed + images(page[i])
    if used - freed + count <= limit then return { 0, used, tonumber(page[i + 1]) + window - now } end
  end
  offset = offset + 100
end
return { 0, used, window }
`;

export interface RedisImageQuotaOptions {
  /**
   * A connection that answers within seconds while Redis is away (src/jobs/redis-connection.ts), so that a request
   * waiting on the quota fails with SERVICE_UNAVAILABLE rather than hangs.
   */
  redis: Redis;
  /** Key prefix shared with the other Redis keys, e.g. "wi": an owner's keys are `<prefix>:quota:{<owner>}…`. */
  prefix: string;
  imagesPerMinute: number;
  /**
   * The replica's clock. Replicas' clocks differ by a few milliseconds at most on a sane host, far below the
   * window; tests pass their own.
   */
  now?: () => number;
}

type TakeCommand = (log: string, total: string, ...args: Array<string | number>) => Promise<number[]>;

/** The quota shared by every replica with the same REDIS_URL: one sliding minute per owner in Redis. */
export class RedisImageQuota implements ImageQuota {
  readonly imagesPerMinute: number;
  private readonly now: () => number;
  private readonly command: TakeCommand;

  constructor(private readonly options: RedisImageQuotaOptions) {
    checkImagesPerMinute(options.imagesPerMinute);
    this.imagesPerMinute = options.imagesPerMinute;
    this.now = options.now ?? Date.now;
    // EVALSHA with a fallback to EVAL, as ioredis' defineCommand does, without widening the client's type.
    const name = 'wiImageQuotaTake';
    options.redis.defineCommand(name, { numberOfKeys: 2, lua: TAKE_SCRIPT });
    const command = (options.redis as unknown as Record<string, TakeCommand>)[name] as TakeCommand;
    this.command = (...args) => command.apply(options.redis, args);
  }

  get enabled(): boolean {
    return this.imagesPerMinute > 0;
  }

  /** The owner's sorted set of requests; its total is the same key with `:images` after it (same hash slot). */
  keyOf(owner: string): string {
    return `${this.options.prefix}:quota:{${owner}}`;
  }

  async take(owner: string, count: number): Promise<QuotaDecision> {
    if (!this.enabled || count <= 0) return { allowed: true };
    const log = this.keyOf(owner);
    const limit = this.imagesPerMinute;
    const [allowed, used = 0, waitMs = -1] = await this.command(
      log,
      `${log}:images`,
      this.now(),
      count,
      limit,
      QUOTA_WINDOW_MS,
      randomUUID(),
    );
    if (allowed === 1) return { allowed: true };
    if (waitMs < 0) return { allowed: false, limit, used };
    return { allowed: false, limit, used, retryAfterSeconds: retryAfterSeconds(waitMs) };
  }
}
