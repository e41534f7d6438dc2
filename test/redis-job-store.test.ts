import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StoredJob } from '../src/jobs/job-store.js';
import { RedisJobStore } from '../src/jobs/redis-job-store.js';
import { StreamMultiplexer } from '../src/jobs/redis-stream-multiplexer.js';
import { createLogger } from '../src/logger.js';
import { contractJob, jobStoreContract } from './support/job-store-contract.js';
import { deleteKeys, describeWithRedis, testRedisUrl, uniquePrefix } from './support/redis.js';

const logger = createLogger({ level: 'silent', secrets: [] });

describeWithRedis('the Redis job store', () => {
  let command: Redis;
  let blocking: Redis;
  let streams: StreamMultiplexer;
  const prefix = uniquePrefix('store');
  const newStore = (options: { retentionMs?: number; maxRetained?: number; maxRetainedBytes?: number } = {}) =>
    new RedisJobStore({
      redis: command,
      streams,
      retentionMs: options.retentionMs ?? 60_000,
      prefix: `${prefix}:${Math.random()}`,
      ...options,
    });

  beforeAll(async () => {
    const url = testRedisUrl(11) as string;
    command = new Redis(url);
    blocking = new Redis(url);
    streams = new StreamMultiplexer(blocking, command, logger);
  });
  afterAll(async () => {
    await streams.close();
    await deleteKeys(command, prefix);
    command.disconnect();
    blocking.disconnect();
  });

  jobStoreContract(async () => ({ store: newStore(), close: async () => {} }));

  it('keeps pictures in their own keys that expire with the finished job, never in the hash', async () => {
    const store = newStore({ retentionMs: 5_000 });
    await store.create(contractJob('i', 'f'));
    const bytes = Buffer.from('picture bytes');
    await store.recordImage(
      'i',
      [0, 1],
      { status: 'SUCCEEDED', attempts: 1, image: { mimeType: 'image/png', bytes } },
      { prompt: 'p' },
    );
    const key = store.jobKey('i');
    const hash = await command.hgetall(key);
    expect(JSON.stringify(hash)).not.toContain('picture bytes');
    expect(await command.getBuffer(`${key}:img:0`)).toEqual(bytes);
    expect(await command.pttl(`${key}:img:0`)).toBeLessThanOrEqual(5_000);
    expect(await command.pttl(key)).toBeLessThanOrEqual(5_000);
    expect(await command.pttl(`${key}:events`)).toBeLessThanOrEqual(5_000);
    const job = (await store.get('i')) as StoredJob;
    expect(job.results.map((result) => result.image?.bytes.toString())).toEqual(['picture bytes', 'picture bytes']);
    // One picture reads alone, without the job's others (what /images/<job>/<id> asks for).
    expect((await store.image('i', '0-1'))?.bytes.toString()).toBe('picture bytes');
    expect(await store.image('i', 'unknown')).toBeUndefined();
    expect(await store.image('unknown', '0-1')).toBeUndefined();
  });

  it('keeps finished jobs within the picture budget and the count, dropping the oldest but never the newest', async () => {
    const store = newStore({ maxRetainedBytes: 2500, maxRetained: 3 });
    const finishWith = async (id: string, size: number) => {
      await store.create(contractJob(id, 'f'));
      const image = { mimeType: 'image/png', bytes: Buffer.alloc(size, 1) };
      await store.recordImage(id, [0, 1], { status: 'SUCCEEDED', attempts: 1, image }, { prompt: 'p' });
    };
    await finishWith('a', 1000);
    await finishWith('b', 1000);
    expect(await store.get('a')).toBeDefined();
    await finishWith('c', 1000);
    expect(await store.get('a')).toBeUndefined();
    expect(await command.exists(`${store.jobKey('a')}:img:0`, `${store.jobKey('a')}:events`)).toBe(0);
    expect(await store.get('b')).toBeDefined();
    await finishWith('huge', 10_000);
    expect(await store.get('huge')).toBeDefined();
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('c')).toBeUndefined();
  });

  it('resumes after a sequence with no event twice, and ends at once after the final one', async () => {
    const store = newStore();
    await store.create(contractJob('after', 'f'));
    const read = async (after: number) => {
      const seen: number[] = [];
      for await (const event of store.follow('after', { waitMs: 0, signal: new AbortController().signal, after }))
        seen.push(event.sequence);
      return seen;
    };
    const resumed = read(1);
    await store.recordImage('after', [0, 1], { status: 'SUCCEEDED', attempts: 1 }, { prompt: 'p' });
    // 2 QUEUED events at creation, 2 SUCCEEDED, then the final one.
    expect(await resumed).toEqual([2, 3, 4, 5]);
    expect(await read(3)).toEqual([4, 5]);
    expect(await read(5)).toEqual([]);
  });
});
