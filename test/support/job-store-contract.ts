import { afterEach, expect, it } from 'vitest';
import type { JobStore, StoredJob } from '../../src/jobs/job-store.js';
import type { GenerationEvent } from '../../src/jobs/types.js';
import { tinyPng } from './test-images.js';

/**
 * What every JobStore promises, whatever keeps the jobs: the in-memory store and the Redis store run this same suite
 * (test/job-store.test.ts, test/redis-job-store.test.ts).
 */
export function jobStoreContract(open: () => Promise<{ store: JobStore; close: () => Promise<void> }>): void {
  const opened: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((close) => close()));
  });
  const store = async () => {
    const { store, close } = await open();
    opened.push(close);
    return store;
  };
  const never = () => new AbortController().signal;

  it('creates a job once: created, then existing with the same images, conflict with others, keeping the first', async () => {
    const target = await store();
    expect(await target.create(contractJob('a', 'first'))).toBe('created');
    expect(await target.create(contractJob('a', 'first'))).toBe('existing');
    expect(await target.create(contractJob('a', 'second'))).toBe('conflict');
    expect(await target.get('a')).toMatchObject({ id: 'a', fingerprint: 'first', status: 'RUNNING', finishedAt: null });
  });

  it("starts a job's events with one QUEUED event per image, once, whoever follows", async () => {
    const target = await store();
    await target.create(contractJob('q', 'f'));
    await target.create(contractJob('q', 'f'));
    await target.appendEvent(contractEvent('q', 3, true));
    const events: GenerationEvent[] = [];
    for await (const received of target.follow('q', { waitMs: 0, signal: never() })) events.push(received);
    expect(events.map((event) => [event.sequence, event.image?.id ?? null, event.image?.status ?? null])).toEqual([
      [1, '0-0', 'QUEUED'],
      [2, '0-1', 'QUEUED'],
      [3, null, null],
    ]);
    expect(events[0]).toMatchObject({
      jobId: 'q',
      done: false,
      progress: { completed: 0, total: 2, errors: 0, current: null },
      stats: { total: 2, pending: 2, successful: 0 },
    });
  });

  it('answers a job once its final event is stored, at once when it already is, and undefined for an unknown one', async () => {
    const target = await store();
    const job = contractJob('fin', 'f');
    await target.create(job);
    let settled: StoredJob | undefined;
    const finishing = target.finished('fin').then((finished) => {
      settled = finished;
      return finished;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBeUndefined();
    const finishedAt = new Date(job.createdAt.getTime() + 5);
    const stats = { ...job.stats, cancelled: 2, pending: 0 };
    await target.update('fin', { status: 'CANCELLED', results: job.results, stats, finishedAt });
    await target.appendEvent(contractEvent('fin', 3, true));
    expect(await finishing).toMatchObject({ id: 'fin', status: 'CANCELLED', finishedAt });
    expect(await target.finished('fin')).toMatchObject({ id: 'fin', status: 'CANCELLED' });
    expect(await target.finished('unknown')).toBeUndefined();
  });

  it('answers undefined for an unknown job', async () => {
    expect(await (await store()).get('unknown')).toBeUndefined();
  });

  it('reads back what update wrote, pictures included', async () => {
    const target = await store();
    const job = contractJob('u', 'f');
    await target.create(job);
    const bytes = tinyPng('contract');
    const results = job.results.map((result) => ({
      ...result,
      status: 'SUCCEEDED' as const,
      attempts: 1,
      image: { mimeType: 'image/png', bytes },
    }));
    const stats = { ...job.stats, successful: 2, pending: 0, durationMs: 12 };
    const finishedAt = new Date(job.createdAt.getTime() + 12);
    await target.update('u', { status: 'COMPLETED', results, stats, finishedAt });
    const read = await target.get('u');
    expect(read).toMatchObject({ id: 'u', status: 'COMPLETED', stats, finishedAt, owner: 'tester' });
    expect(read?.results.map((result) => result.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(read?.results[1]?.image?.bytes.equals(bytes)).toBe(true);
    expect(read?.results[0]?.image?.mimeType).toBe('image/png');
    expect(read?.createdAt.getTime()).toBe(job.createdAt.getTime());
  });

  it('replays events from the first to a late follower, then follows live ones to the end', async () => {
    const target = await store();
    await target.create(contractJob('j', 'f'));
    await target.appendEvent(contractEvent('j', 3));
    const seen: number[] = [];
    const following = (async () => {
      for await (const received of target.follow('j', { waitMs: 0, signal: never() })) seen.push(received.sequence);
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await target.appendEvent(contractEvent('j', 4, true));
    await following;
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('carries an event picture to followers', async () => {
    const target = await store();
    const job = contractJob('p', 'f');
    await target.create(job);
    const bytes = tinyPng('event');
    const image = { ...(job.results[0] as StoredJob['results'][number]), status: 'SUCCEEDED' as const };
    await target.appendEvent({
      ...contractEvent('p', 3),
      image: { ...image, image: { mimeType: 'image/png', bytes } },
    });
    await target.appendEvent(contractEvent('p', 4, true));
    const events: GenerationEvent[] = [];
    for await (const received of target.follow('p', { waitMs: 0, signal: never(), after: 2 })) events.push(received);
    expect(events[0]?.image?.id).toBe('0-0');
    expect(events[0]?.image?.image?.bytes.equals(bytes)).toBe(true);
    expect(events[1]?.image).toBeNull();
  });

  it('waits for a job that does not exist yet, and gives up after waitMs', async () => {
    const target = await store();
    const seen: number[] = [];
    const following = (async () => {
      for await (const received of target.follow('later', { waitMs: 5_000, signal: never() }))
        seen.push(received.sequence);
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await target.create(contractJob('later', 'f'));
    await target.appendEvent(contractEvent('later', 3, true));
    await following;
    expect(seen).toEqual([1, 2, 3]);

    const nothing: number[] = [];
    for await (const received of target.follow('never', { waitMs: 50, signal: never() }))
      nothing.push(received.sequence);
    expect(nothing).toEqual([]);
  });

  it('stops a follower at once when its signal aborts', async () => {
    const target = await store();
    await target.create(contractJob('s', 'f'));
    const abort = new AbortController();
    const seen: number[] = [];
    const following = (async () => {
      for await (const received of target.follow('s', { waitMs: 0, signal: abort.signal })) {
        seen.push(received.sequence);
        abort.abort();
      }
    })();
    await following;
    expect(seen).toEqual([1]);
  });

  it('resumes after a sequence with no event twice, and ends at once after the final one', async () => {
    const target = await store();
    await target.create(contractJob('after', 'f'));
    const read = async (after: number) => {
      const seen: number[] = [];
      for await (const event of target.follow('after', { waitMs: 0, signal: never(), after }))
        seen.push(event.sequence);
      return seen;
    };
    await target.appendEvent(contractEvent('after', 3));
    const resumed = read(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await target.appendEvent(contractEvent('after', 4, true));
    expect(await resumed).toEqual([2, 3, 4]);
    expect(await read(3)).toEqual([4]);
    expect(await read(4)).toEqual([]);
  });

  it('gives many followers, joining before, during and after, every event once and in order', async () => {
    const target = await store();
    const total = 60;
    const follow = async () => {
      const seen: number[] = [];
      for await (const received of target.follow('many', { waitMs: 10_000, signal: never() }))
        seen.push(received.sequence);
      return seen;
    };
    const early = [follow(), follow()];
    await new Promise((resolve) => setTimeout(resolve, 20));
    await target.create(contractJob('many', 'f'));
    const during: Array<Promise<number[]>> = [];
    for (let sequence = 3; sequence <= total; sequence++) {
      await target.appendEvent(contractEvent('many', sequence, sequence === total));
      if (sequence % 20 === 0) during.push(follow());
    }
    const late = follow();
    const expected = Array.from({ length: total }, (_, index) => index + 1);
    for (const seen of await Promise.all([...early, ...during, late])) expect(seen).toEqual(expected);
  });
}

export function contractJob(id: string, fingerprint: string): StoredJob {
  const result = (requestId: string) => ({
    id: requestId,
    status: 'QUEUED' as const,
    image: null,
    dimensions: { width: 64, height: 64 },
    requestedDimensions: { width: 60, height: 64 },
    attempts: 0,
    error: null,
    retryInMs: null,
    deduplicated: false,
  });
  return {
    id,
    status: 'RUNNING',
    results: [result('0-0'), result('0-1')],
    stats: { total: 2, successful: 0, failed: 0, cancelled: 0, pending: 2, retries: 0, durationMs: 0 },
    createdAt: new Date(Math.floor(Date.now() / 1000) * 1000),
    finishedAt: null,
    fingerprint,
    owner: 'tester',
  };
}

export function contractEvent(jobId: string, sequence: number, done = false): GenerationEvent {
  return {
    jobId,
    sequence,
    image: null,
    progress: { completed: 0, total: 2, errors: 0, current: null },
    stats: { total: 2, successful: 0, failed: 0, cancelled: 0, pending: 2, retries: 0, durationMs: 0 },
    done,
  };
}
