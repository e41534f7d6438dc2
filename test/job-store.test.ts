import { afterEach, describe, expect, it } from 'vitest';
import type { StoredJob } from '../src/jobs/job-store.js';
import { MemoryJobStore } from '../src/jobs/memory-job-store.js';
import type { GenerationEvent } from '../src/jobs/types.js';
import { jobStoreContract } from './support/job-store-contract.js';

let now = 0;
const stores: MemoryJobStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

function store(options: { retentionMs?: number; maxRetained?: number; maxRetainedBytes?: number } = {}) {
  const created = new MemoryJobStore({ retentionMs: 60_000, maxRetained: 100, now: () => now, ...options });
  stores.push(created);
  return created;
}

function job(id: string, bytes = 0): StoredJob {
  return {
    id,
    status: 'RUNNING',
    results: [
      {
        id: '0-0',
        status: 'SUCCEEDED',
        image: bytes ? { mimeType: 'image/png', bytes: Buffer.alloc(bytes) } : null,
        dimensions: { width: 64, height: 64 },
        requestedDimensions: { width: 64, height: 64 },
        attempts: 1,
        error: null,
        retryInMs: null,
        deduplicated: false,
      },
    ],
    stats: { total: 1, successful: 1, failed: 0, cancelled: 0, pending: 0, retries: 0, durationMs: 1 },
    createdAt: new Date(now),
    finishedAt: null,
    fingerprint: id,
    owner: 'test',
  };
}

async function finish(target: MemoryJobStore, stored: StoredJob) {
  await target.update(stored.id, {
    status: 'COMPLETED',
    results: stored.results,
    stats: stored.stats,
    finishedAt: new Date(now),
  });
}

const event = (jobId: string, sequence: number, done = false): GenerationEvent => ({
  jobId,
  sequence,
  image: null,
  progress: { completed: 0, total: 1, errors: 0, current: null },
  stats: { total: 1, successful: 0, failed: 0, cancelled: 0, pending: 1, retries: 0, durationMs: 0 },
  done,
});

describe('the in-memory job store: the contract every job store keeps', () => {
  jobStoreContract(async () => {
    const created = new MemoryJobStore({ retentionMs: 60_000, maxRetained: 100 });
    return { store: created, close: () => created.close() };
  });
});

describe('the in-memory job store', () => {
  it('keeps the job object it was given, and gives an id back once the job under it has expired', async () => {
    const target = store({ retentionMs: 1000 });
    const first = job('a');
    expect(await target.create(first)).toBe('created');
    expect(await target.get('a')).toBe(first);
    await finish(target, first);
    now += 1001;
    expect(await target.create({ ...job('a'), fingerprint: 'other images' })).toBe('created');
  });

  it('forgets finished jobs after the retention time, never running ones', async () => {
    const target = store({ retentionMs: 1000 });
    const finished = job('finished');
    await target.create(finished);
    await target.create(job('running'));
    await finish(target, finished);
    now += 1001;
    expect(await target.get('finished')).toBeUndefined();
    expect(await target.get('running')).toBeDefined();
  });

  it('keeps at most maxRetained finished jobs, dropping the oldest', async () => {
    const target = store({ maxRetained: 2 });
    for (const id of ['a', 'b', 'c']) {
      const stored = job(id);
      await target.create(stored);
      now += 10;
      await finish(target, stored);
    }
    expect(await target.get('a')).toBeUndefined();
    expect(await target.get('b')).toBeDefined();
    expect(await target.get('c')).toBeDefined();
  });

  it('keeps image bytes under maxRetainedBytes, dropping the oldest finished jobs but never the newest', async () => {
    const target = store({ maxRetainedBytes: 2500 });
    for (const id of ['a', 'b', 'c']) {
      const stored = job(id, 1000);
      await target.create(stored);
      now += 10;
      await finish(target, stored);
    }
    expect(await target.get('a')).toBeUndefined();
    expect(await target.get('b')).toBeDefined();
    const huge = job('huge', 10_000);
    await target.create(huge);
    now += 10;
    await finish(target, huge);
    expect(await target.get('huge')).toBeDefined();
    expect(await target.get('b')).toBeUndefined();
    expect(await target.get('c')).toBeUndefined();
  });

  it('evicts in finish order, not start order, and keeps a running byte total that frees what it drops', async () => {
    const target = store({ maxRetained: 3, maxRetainedBytes: 3000 });
    const started = ['a', 'b', 'c', 'd'].map((id) => job(id, 1000));
    for (const stored of started) await target.create(stored);
    // Finished in the order d, b, a, c: d is the oldest finished job although it started last.
    for (const id of ['d', 'b', 'a', 'c']) {
      now += 10;
      await finish(target, started.find((stored) => stored.id === id) as StoredJob);
    }
    expect(await target.get('d')).toBeUndefined();
    expect(await target.get('b')).toBeDefined();
    expect(await target.get('a')).toBeDefined();
    expect(await target.get('c')).toBeDefined();

    // 3000 bytes kept; a 1500-byte job pushes out b and a (the two oldest), not c.
    const e = job('e', 1500);
    await target.create(e);
    now += 10;
    await finish(target, e);
    expect(await target.get('b')).toBeUndefined();
    expect(await target.get('a')).toBeUndefined();
    expect(await target.get('c')).toBeDefined();
    expect(await target.get('e')).toBeDefined();

    // The total went down with what was dropped: 2500 bytes now, so one more 500-byte job fits beside them.
    const f = job('f', 500);
    await target.create(f);
    now += 10;
    await finish(target, f);
    expect(await target.get('c')).toBeDefined();
    expect(await target.get('e')).toBeDefined();
    expect(await target.get('f')).toBeDefined();
  });

  it('counts a buffer shared by identical images once, and forgets the bytes of jobs past their retention', async () => {
    const target = store({ retentionMs: 1000, maxRetainedBytes: 2000 });
    const shared = Buffer.alloc(1500);
    const twin = job('twin');
    const result = twin.results[0] as StoredJob['results'][number];
    twin.results = [
      { ...result, image: { mimeType: 'image/png', bytes: shared } },
      { ...result, id: '0-1', image: { mimeType: 'image/png', bytes: shared } },
    ];
    await target.create(twin);
    await finish(target, twin);
    // 1500 bytes, not 3000: the next small job does not push it out.
    const small = job('small', 400);
    await target.create(small);
    await finish(target, small);
    expect(await target.get('twin')).toBeDefined();

    // Once both have expired, their bytes no longer count: a 1900-byte job and a 100-byte one fit together.
    now += 1001;
    for (const [id, bytes] of [
      ['big', 1900],
      ['tiny', 100],
    ] as const) {
      const stored = job(id, bytes);
      await target.create(stored);
      await finish(target, stored);
    }
    expect(await target.get('twin')).toBeUndefined();
    expect(await target.get('big')).toBeDefined();
    expect(await target.get('tiny')).toBeDefined();
  });

  it('never drops a running job, however full the store is', async () => {
    const target = store({ maxRetained: 1, maxRetainedBytes: 1000 });
    const running = job('running', 5000);
    await target.create(running);
    for (const id of ['x', 'y', 'z']) {
      const stored = job(id, 900);
      await target.create(stored);
      now += 10;
      await finish(target, stored);
    }
    expect(await target.get('running')).toBeDefined();
    expect(await target.get('x')).toBeUndefined();
    expect(await target.get('y')).toBeUndefined();
    expect(await target.get('z')).toBeDefined();
    expect(target.size).toBe(2);
  });

  it('replays events from the first to a late follower, then follows live ones to the end', async () => {
    const target = store();
    await target.create(job('j'));
    await target.appendEvent(event('j', 2));
    const seen: number[] = [];
    const following = (async () => {
      for await (const received of target.follow('j', { waitMs: 0, signal: new AbortController().signal }))
        seen.push(received.sequence);
    })();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await target.appendEvent(event('j', 3, true));
    await following;
    expect(seen).toEqual([1, 2, 3]);
  });

  it('resumes after a sequence: events already emitted after it, then live ones, none twice', async () => {
    const target = store();
    await target.create(job('r'));
    for (const sequence of [2, 3]) await target.appendEvent(event('r', sequence));
    const seen: number[] = [];
    const following = (async () => {
      const options = { waitMs: 0, signal: new AbortController().signal, after: 2 };
      for await (const received of target.follow('r', options)) seen.push(received.sequence);
    })();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await target.appendEvent(event('r', 4));
    await target.appendEvent(event('r', 5, true));
    await following;
    expect(seen).toEqual([3, 4, 5]);
  });

  it('after the last emitted sequence of a running job, waits for the next; after the final one, ends at once', async () => {
    const target = store();
    await target.create(job('s'));
    const seen: number[] = [];
    const following = (async () => {
      const options = { waitMs: 0, signal: new AbortController().signal, after: 1 };
      for await (const received of target.follow('s', options)) seen.push(received.sequence);
    })();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(seen).toEqual([]);
    await target.appendEvent(event('s', 2, true));
    await following;
    expect(seen).toEqual([2]);

    const afterFinal: number[] = [];
    for (const after of [2, 7]) {
      for await (const received of target.follow('s', { waitMs: 0, signal: new AbortController().signal, after }))
        afterFinal.push(received.sequence);
    }
    expect(afterFinal).toEqual([]);
  });

  it('waits for a job that does not exist yet, and gives up after waitMs', async () => {
    const target = store();
    const seen: number[] = [];
    const following = (async () => {
      for await (const received of target.follow('later', { waitMs: 5_000, signal: new AbortController().signal }))
        seen.push(received.sequence);
    })();
    await target.create(job('later'));
    await target.appendEvent(event('later', 2, true));
    await following;
    expect(seen).toEqual([1, 2]);

    const nothing: number[] = [];
    for await (const received of target.follow('never', { waitMs: 20, signal: new AbortController().signal }))
      nothing.push(received.sequence);
    expect(nothing).toEqual([]);
  });
});
