import { afterEach, describe, expect, it } from 'vitest';
import type { StoredJob } from '../src/jobs/job-store.js';
import { MemoryJobStore } from '../src/jobs/memory-job-store.js';
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

/** A job of one image, not started. */
function job(id: string): StoredJob {
  return {
    id,
    status: 'RUNNING',
    results: [
      {
        id: '0-0',
        status: 'QUEUED',
        image: null,
        dimensions: { width: 64, height: 64 },
        requestedDimensions: { width: 64, height: 64 },
        attempts: 0,
        error: null,
        retryInMs: null,
        deduplicated: false,
      },
    ],
    stats: { total: 1, successful: 0, failed: 0, cancelled: 0, pending: 1, retries: 0, durationMs: 0 },
    createdAt: new Date(now),
    finishedAt: null,
    fingerprint: id,
    owner: 'test',
  };
}

/** Finishes the job as its runner would: every image SUCCEEDED, with a picture of `bytes` bytes (none for 0). */
async function finish(target: MemoryJobStore, stored: StoredJob, bytes = 0, picture = Buffer.alloc(bytes)) {
  const image = bytes || picture.length ? { mimeType: 'image/png', bytes: picture } : null;
  const indexes = stored.results.map((_result, index) => index);
  await target.recordImage(stored.id, indexes, { status: 'SUCCEEDED', attempts: 1, image }, { prompt: 'p' });
}

const generating = { status: 'GENERATING' as const, attempts: 1 };
const succeeded = { status: 'SUCCEEDED' as const, attempts: 1 };

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
      const stored = job(id);
      await target.create(stored);
      now += 10;
      await finish(target, stored, 1000);
    }
    expect(await target.get('a')).toBeUndefined();
    expect(await target.get('b')).toBeDefined();
    const huge = job('huge');
    await target.create(huge);
    now += 10;
    await finish(target, huge, 10_000);
    expect(await target.get('huge')).toBeDefined();
    expect(await target.get('b')).toBeUndefined();
    expect(await target.get('c')).toBeUndefined();
  });

  it('evicts in finish order, not start order, and keeps a running byte total that frees what it drops', async () => {
    const target = store({ maxRetained: 3, maxRetainedBytes: 3000 });
    const started = ['a', 'b', 'c', 'd'].map((id) => job(id));
    for (const stored of started) await target.create(stored);
    // Finished in the order d, b, a, c: d is the oldest finished job although it started last.
    for (const id of ['d', 'b', 'a', 'c']) {
      now += 10;
      await finish(target, started.find((stored) => stored.id === id) as StoredJob, 1000);
    }
    expect(await target.get('d')).toBeUndefined();
    expect(await target.get('b')).toBeDefined();
    expect(await target.get('a')).toBeDefined();
    expect(await target.get('c')).toBeDefined();

    // 3000 bytes kept; a 1500-byte job pushes out b and a (the two oldest), not c.
    const e = job('e');
    await target.create(e);
    now += 10;
    await finish(target, e, 1500);
    expect(await target.get('b')).toBeUndefined();
    expect(await target.get('a')).toBeUndefined();
    expect(await target.get('c')).toBeDefined();
    expect(await target.get('e')).toBeDefined();

    // The total went down with what was dropped: 2500 bytes now, so one more 500-byte job fits beside them.
    const f = job('f');
    await target.create(f);
    now += 10;
    await finish(target, f, 500);
    expect(await target.get('c')).toBeDefined();
    expect(await target.get('e')).toBeDefined();
    expect(await target.get('f')).toBeDefined();
  });

  it('counts a buffer shared by identical images once, and forgets the bytes of jobs past their retention', async () => {
    const target = store({ retentionMs: 1000, maxRetainedBytes: 2000 });
    const shared = Buffer.alloc(1500);
    const twin = job('twin');
    const result = twin.results[0] as StoredJob['results'][number];
    twin.results = [result, { ...result, id: '0-1' }];
    twin.stats = { ...twin.stats, total: 2, pending: 2 };
    await target.create(twin);
    // Identical requests: one upstream call, one buffer for both.
    await finish(target, twin, 0, shared);
    // 1500 bytes, not 3000: the next small job does not push it out.
    const small = job('small');
    await target.create(small);
    await finish(target, small, 400);
    expect(await target.get('twin')).toBeDefined();

    // Once both have expired, their bytes no longer count: a 1900-byte job and a 100-byte one fit together.
    now += 1001;
    for (const [id, bytes] of [
      ['big', 1900],
      ['tiny', 100],
    ] as const) {
      const stored = job(id);
      await target.create(stored);
      await finish(target, stored, bytes);
    }
    expect(await target.get('twin')).toBeUndefined();
    expect(await target.get('big')).toBeDefined();
    expect(await target.get('tiny')).toBeDefined();
  });

  it('never drops a running job, however full the store is', async () => {
    const target = store({ maxRetained: 1, maxRetainedBytes: 1000 });
    const running = job('running');
    await target.create(running);
    for (const id of ['x', 'y', 'z']) {
      const stored = job(id);
      await target.create(stored);
      now += 10;
      await finish(target, stored, 900);
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
    await target.recordImage('j', [0], generating, { prompt: 'p' });
    const seen: number[] = [];
    const following = (async () => {
      for await (const received of target.follow('j', { waitMs: 0, signal: new AbortController().signal }))
        seen.push(received.sequence);
    })();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await target.recordImage('j', [0], succeeded, { prompt: 'p' });
    await following;
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('resumes after a sequence: events already emitted after it, then live ones, none twice', async () => {
    const target = store();
    await target.create(job('r'));
    const retrying = { status: 'RETRYING' as const, attempts: 1, retryInMs: 10 };
    await target.recordImage('r', [0], generating, { prompt: 'p' });
    await target.recordImage('r', [0], retrying, { prompt: 'p' });
    const seen: number[] = [];
    const following = (async () => {
      const options = { waitMs: 0, signal: new AbortController().signal, after: 2 };
      for await (const received of target.follow('r', options)) seen.push(received.sequence);
    })();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await target.recordImage('r', [0], { ...generating, attempts: 2 }, { prompt: 'p', retries: 1 });
    await target.recordImage('r', [0], succeeded, { prompt: 'p' });
    await following;
    expect(seen).toEqual([3, 4, 5, 6]);
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
    await target.recordImage('s', [0], succeeded, { prompt: 'p' });
    await following;
    expect(seen).toEqual([2, 3]);

    const afterFinal: number[] = [];
    for (const after of [3, 7]) {
      for await (const received of target.follow('s', { waitMs: 0, signal: new AbortController().signal, after }))
        afterFinal.push(received.sequence);
    }
    expect(afterFinal).toEqual([]);
  });

  it('finishes a job by its own clock: finishedAt, durationMs and retention all start from the last final image', async () => {
    const target = store({ retentionMs: 1000 });
    const started = job('timed');
    await target.create(started);
    now += 40;
    await target.recordImage('timed', [0], generating, { prompt: 'p' });
    now += 60;
    await target.recordImage('timed', [0], succeeded, { prompt: 'p' });
    const finished = await target.get('timed');
    expect(finished?.finishedAt?.getTime()).toBe(started.createdAt.getTime() + 100);
    expect(finished?.stats.durationMs).toBe(100);
    now += 1000;
    expect(await target.get('timed')).toBeDefined();
    now += 1;
    expect(await target.get('timed')).toBeUndefined();
  });

  it('waits for a job that does not exist yet, and gives up after waitMs', async () => {
    const target = store();
    const seen: number[] = [];
    const following = (async () => {
      for await (const received of target.follow('later', { waitMs: 5_000, signal: new AbortController().signal }))
        seen.push(received.sequence);
    })();
    await target.create(job('later'));
    await target.recordImage('later', [0], succeeded, { prompt: 'p' });
    await following;
    expect(seen).toEqual([1, 2, 3]);

    const nothing: number[] = [];
    for await (const received of target.follow('never', { waitMs: 20, signal: new AbortController().signal }))
      nothing.push(received.sequence);
    expect(nothing).toEqual([]);
  });
});
