import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../src/jobs/redis-connection.js';
import { createLogger } from '../src/logger.js';
import { toGraphQLError } from '../src/schema/errors.js';
import { type ImageQuota, MemoryImageQuota } from '../src/server/image-quota.js';
import { RedisImageQuota } from '../src/server/redis-image-quota.js';
import { freePort } from './support/own-redis.js';
import { deleteKeys, describeWithRedis, testRedisUrl, uniquePrefix } from './support/redis.js';

const T0 = 1_800_000_000_000;

/** Opens a quota of `imagesPerMinute` whose clock is `clock.now`; quotas opened with the same `shared` share counts. */
type OpenQuota = (imagesPerMinute: number, clock: { now: number }, shared?: string) => ImageQuota;

/** What every image quota promises the quota plugin: the one of a single process and the one replicas share. */
function imageQuotaContract(open: OpenQuota) {
  it('slides: images leave the count 60 seconds after they were taken, and the wait says when enough have', async () => {
    const clock = { now: T0 };
    const quota = open(5, clock);
    expect(await quota.take('a', 3)).toEqual({ allowed: true });
    clock.now = T0 + 30_000;
    expect(await quota.take('a', 2)).toEqual({ allowed: true });
    clock.now = T0 + 40_000;
    // 5 used; one more fits once the 3 taken at 0 s leave, at 60 s.
    expect(await quota.take('a', 1)).toEqual({ allowed: false, limit: 5, used: 5, retryAfterSeconds: 20 });
    // Four more must wait for both earlier requests: until the one at 30 s leaves, at 90 s.
    expect(await quota.take('a', 4)).toEqual({ allowed: false, limit: 5, used: 5, retryAfterSeconds: 50 });
    clock.now = T0 + 60_000;
    expect(await quota.take('a', 3)).toEqual({ allowed: true });
    expect(await quota.take('a', 1)).toEqual({ allowed: false, limit: 5, used: 5, retryAfterSeconds: 30 });
  });

  it('counts each owner apart, and a refused request takes nothing', async () => {
    const clock = { now: T0 };
    const quota = open(5, clock);
    expect(await quota.take('a', 4)).toEqual({ allowed: true });
    expect(await quota.take('a', 2)).toMatchObject({ allowed: false, used: 4 });
    expect(await quota.take('b', 5)).toEqual({ allowed: true });
    expect(await quota.take('a', 1)).toEqual({ allowed: true });
    expect(await quota.take('a', 1)).toMatchObject({ allowed: false, used: 5 });
  });

  it('says waiting cannot help a request larger than a whole minute, lets 0 images through, and is off at 0', async () => {
    const clock = { now: T0 };
    expect(await open(5, clock).take('a', 6)).toEqual({ allowed: false, limit: 5, used: 0 });
    const quota = open(5, clock);
    expect(await quota.take('a', 5)).toEqual({ allowed: true });
    expect(await quota.take('a', 0)).toEqual({ allowed: true });
    expect(await quota.take('a', 6)).toEqual({ allowed: false, limit: 5, used: 5 });
    const off = open(0, clock);
    expect(off.enabled).toBe(false);
    expect(await off.take('a', 1_000)).toEqual({ allowed: true });
    expect(() => open(-1, clock)).toThrow(TypeError);
  });

  it('keeps an owner who asks every second within the limit over any minute', async () => {
    const clock = { now: T0 };
    const quota = open(10, clock);
    const let_through: number[] = [];
    for (let second = 0; second < 180; second++) {
      clock.now = T0 + second * 1000;
      if ((await quota.take('steady', 1)).allowed) let_through.push(clock.now);
    }
    for (const at of let_through) {
      expect(let_through.filter((other) => other >= at && other < at + 60_000).length).toBeLessThanOrEqual(10);
    }
    // 10 in each of the three minutes: the window frees what it should, no more and no less.
    expect(let_through).toHaveLength(30);
  });
}

describe('the in-memory image quota: the contract every image quota keeps', () => {
  imageQuotaContract((imagesPerMinute, clock) => new MemoryImageQuota(imagesPerMinute, () => clock.now));
});

describeWithRedis('the Redis image quota', () => {
  const prefix = uniquePrefix('quota');
  const url = testRedisUrl(11) as string;
  const connections: Redis[] = [];
  let cleaner: Redis;
  const open = (imagesPerMinute: number, clock: { now: number }, shared = `${Math.random()}`) => {
    const redis = new Redis(url);
    connections.push(redis);
    return new RedisImageQuota({ redis, prefix: `${prefix}:${shared}`, imagesPerMinute, now: () => clock.now });
  };
  beforeAll(() => {
    cleaner = new Redis(url);
  });
  afterAll(async () => {
    await deleteKeys(cleaner, prefix);
    for (const redis of [...connections, cleaner]) redis.disconnect();
  });

  imageQuotaContract(open);

  it('is one count for every replica: two quotas racing from two connections let through no more than the limit', async () => {
    const clock = { now: T0 };
    const [a, b] = [open(10, clock, 'race'), open(10, clock, 'race')];
    const answers = await Promise.all(Array.from({ length: 30 }, (_, index) => (index % 2 ? a : b).take('racer', 1)));
    expect(answers.filter((answer) => answer.allowed)).toHaveLength(10);
    expect(await b.take('racer', 1)).toMatchObject({ allowed: false, used: 10 });
  });

  it("keeps an owner's keys no longer than a minute after its last request let through", async () => {
    const quota = open(5, { now: Date.now() }, 'expiry');
    await quota.take('idle', 2);
    const key = quota.keyOf('idle');
    for (const name of [key, `${key}:images`]) {
      const ttl = await cleaner.pttl(name);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    expect(await cleaner.zcard(key)).toBe(1);
    // A refused request leaves the expiry as it was: it cannot keep an owner's keys alive for ever.
    await quota.take('idle', 4);
    expect(await cleaner.pttl(key)).toBeLessThanOrEqual(60_000);
    expect(await cleaner.zcard(key)).toBe(1);
  });

  it('fails within seconds, as SERVICE_UNAVAILABLE, when Redis cannot be reached', async () => {
    const port = await freePort();
    const logger = createLogger({ level: 'silent', secrets: [] });
    const redis = connectRedis(`redis://127.0.0.1:${port}`, { logger, name: 'quota-test' });
    try {
      const quota = new RedisImageQuota({ redis, prefix, imagesPerMinute: 5 });
      const startedAt = performance.now();
      const failure = await quota.take('nobody', 1).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(performance.now() - startedAt).toBeLessThan(8_000);
      expect(toGraphQLError(failure)).toMatchObject({
        message: expect.stringContaining('Redis'),
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      });
    } finally {
      redis.disconnect();
    }
  });
});
