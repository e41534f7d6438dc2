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

  const events = async (target: JobStore, id: string, after = 0) => {
    const seen: GenerationEvent[] = [];
    for await (const event of target.follow(id, { waitMs: 0, signal: never(), after })) seen.push(event);
    return seen;
  };
  const generating = (attempts = 1) => ({ status: 'GENERATING' as const, attempts });
  const succeeded = (bytes?: Buffer) => ({
    status: 'SUCCEEDED' as const,
    attempts: 1,
    ...(bytes ? { image: { mimeType: 'image/png', bytes } } : {}),
  });

  it("starts a job's events with one QUEUED event per image, once, whoever follows", async () => {
    const target = await store();
    await target.create(contractJob('q', 'f'));
    await target.create(contractJob('q', 'f'));
    await target.recordImage('q', [0, 1], succeeded(), { prompt: 'p' });
    const seen = await events(target, 'q');
    expect(seen.map((event) => [event.sequence, event.image?.id ?? null, event.image?.status ?? null])).toEqual([
      [1, '0-0', 'QUEUED'],
      [2, '0-1', 'QUEUED'],
      [3, '0-0', 'SUCCEEDED'],
      [4, '0-1', 'SUCCEEDED'],
      [5, null, null],
    ]);
    expect(seen[0]).toMatchObject({
      jobId: 'q',
      done: false,
      progress: { completed: 0, total: 2, errors: 0, current: null },
      stats: { total: 2, pending: 2, successful: 0 },
    });
  });

  it('answers a job once its final event is stored, at once when it already is, and undefined for an unknown one', async () => {
    const target = await store();
    await target.create(contractJob('fin', 'f'));
    let settled: StoredJob | undefined;
    const finishing = target.finished('fin').then((finished) => {
      settled = finished;
      return finished;
    });
    await target.recordImage('fin', [0], generating(), { prompt: 'p' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBeUndefined();
    await target.recordImage('fin', [0, 1], succeeded(), { prompt: 'p' });
    const finished = await finishing;
    expect(finished).toMatchObject({ id: 'fin', status: 'COMPLETED', stats: { successful: 2, pending: 0 } });
    expect(finished?.finishedAt).toBeInstanceOf(Date);
    expect(await target.finished('fin')).toMatchObject({ id: 'fin', status: 'COMPLETED' });
    expect(await target.finished('unknown')).toBeUndefined();
  });

  it('answers undefined for an unknown job, and records nothing for it', async () => {
    const target = await store();
    expect(await target.get('unknown')).toBeUndefined();
    expect(await target.recordImage('unknown', [0], succeeded(), { prompt: 'p' })).toBe(0);
    expect(await target.cancel('unknown')).toBe(false);
    expect(await target.isCancelled('unknown')).toBe(false);
    expect(await target.get('unknown')).toBeUndefined();
  });

  it('reads back what recordImage wrote, pictures included, and finishes the job with the last final image', async () => {
    const target = await store();
    const job = contractJob('u', 'f');
    await target.create(job);
    const bytes = tinyPng('contract');
    expect(await target.recordImage('u', [0], generating(), { prompt: 'p' })).toBe(1);
    const running = await target.get('u');
    expect(running).toMatchObject({ status: 'RUNNING', finishedAt: null, stats: { pending: 2 } });
    expect(running?.results.map((result) => result.status)).toEqual(['GENERATING', 'QUEUED']);
    // Two images, one upstream call: two events, then the final one.
    expect(await target.recordImage('u', [0, 1], succeeded(bytes), { prompt: 'p' })).toBe(3);
    const read = await target.get('u');
    expect(read).toMatchObject({
      id: 'u',
      status: 'COMPLETED',
      owner: 'tester',
      stats: { total: 2, successful: 2, failed: 0, cancelled: 0, pending: 0, retries: 0 },
    });
    expect(read?.finishedAt?.getTime()).toBeGreaterThanOrEqual(job.createdAt.getTime());
    expect(read?.stats.durationMs).toBe((read?.finishedAt?.getTime() ?? 0) - job.createdAt.getTime());
    expect(read?.results.map((result) => [result.status, result.attempts, result.error])).toEqual([
      ['SUCCEEDED', 1, null],
      ['SUCCEEDED', 1, null],
    ]);
    expect(read?.results[1]?.image?.bytes.equals(bytes)).toBe(true);
    expect(read?.results[0]?.image?.mimeType).toBe('image/png');
    expect(read?.createdAt.getTime()).toBe(job.createdAt.getTime());
  });

  it('leaves a final image alone, writes done exactly once, and numbers events without gaps under racing writers', async () => {
    const target = await store();
    await target.create(contractJob('r', 'f'));
    const settle = (index: number, status: 'SUCCEEDED' | 'FAILED') =>
      target.recordImage('r', [index], { status, attempts: 1 }, { prompt: 'p' });
    // Two writers race to finish the same images (a recovered task and the original, say).
    await Promise.all([
      target.recordImage('r', [0], generating(), { prompt: 'p' }),
      settle(0, 'SUCCEEDED'),
      settle(0, 'FAILED'),
      settle(1, 'FAILED'),
      settle(1, 'SUCCEEDED'),
    ]);
    const seen = await events(target, 'r');
    expect(seen.map((event) => event.sequence)).toEqual(seen.map((_, index) => index + 1));
    expect(seen.filter((event) => event.done)).toHaveLength(1);
    const finals = seen.filter((event) => event.image && ['SUCCEEDED', 'FAILED'].includes(event.image.status));
    expect(finals.map((event) => event.image?.id).sort()).toEqual(['0-0', '0-1']);
    const job = (await target.get('r')) as StoredJob;
    expect(job.status).toBe('COMPLETED');
    expect(job.stats.pending).toBe(0);
    expect(job.stats.successful + job.stats.failed).toBe(2);
    expect(await target.recordImage('r', [0], { status: 'FAILED' }, { prompt: 'p' })).toBe(0);
    expect(await events(target, 'r')).toHaveLength(seen.length);
    expect(seen.at(-1)?.progress).toEqual({ completed: 2, total: 2, errors: job.stats.failed, current: null });
  });

  it('counts retries, names the newest prompt in flight as current, and clears a settled error', async () => {
    const target = await store();
    await target.create(contractJob('c', 'f'));
    const unavailable = { code: 'UPSTREAM_UNAVAILABLE' as const, message: 'Upstream answered 503.', retryable: true };
    await target.recordImage('c', [0], generating(), { prompt: 'a fox' });
    await target.recordImage('c', [1], generating(), { prompt: 'a hen' });
    await target.recordImage(
      'c',
      [1],
      { status: 'RETRYING', attempts: 1, error: unavailable, retryInMs: 250 },
      { prompt: 'a hen' },
    );
    await target.recordImage('c', [1], generating(2), { prompt: 'a hen', retries: 1 });
    await target.recordImage('c', [1], succeeded(), { prompt: 'a hen' });
    await target.recordImage('c', [0], { status: 'FAILED', attempts: 1, error: unavailable }, { prompt: 'a fox' });
    const seen = (await events(target, 'c')).slice(2);
    expect(seen.map((event) => [event.image?.status ?? null, event.progress.current])).toEqual([
      ['GENERATING', 'a fox'],
      ['GENERATING', 'a hen'],
      ['RETRYING', 'a fox'],
      ['GENERATING', 'a hen'],
      ['SUCCEEDED', 'a fox'],
      ['FAILED', null],
      [null, null],
    ]);
    expect(seen[2]?.image).toMatchObject({ retryInMs: 250, error: unavailable });
    // Retrying no longer once it runs again, and no error once it has succeeded.
    expect(seen[3]?.image).toMatchObject({ retryInMs: null, attempts: 2 });
    expect(seen[4]?.image).toMatchObject({ error: null, retryInMs: null });
    expect(seen.at(-1)).toMatchObject({
      done: true,
      stats: { total: 2, successful: 1, failed: 1, cancelled: 0, pending: 0, retries: 1 },
      progress: { completed: 2, total: 2, errors: 1, current: null },
    });
  });

  it('cancels the images that have not started and finishes the job CANCELLED once the last one settles', async () => {
    const target = await store();
    await target.create(contractJob('x', 'f'));
    await target.recordImage('x', [0], generating(), { prompt: 'drawing' });
    expect(await target.isCancelled('x')).toBe(false);
    expect(await target.cancel('x')).toBe(true);
    expect(await target.isCancelled('x')).toBe(true);
    let job = (await target.get('x')) as StoredJob;
    expect(job.results.map((result) => [result.status, result.error?.code ?? null])).toEqual([
      ['GENERATING', null],
      ['CANCELLED', 'CANCELLED'],
    ]);
    expect(job.status).toBe('RUNNING');
    // Whoever runs the image in flight settles it once aborted; the job ends with it, CANCELLED.
    await target.recordImage('x', [0], { status: 'CANCELLED', attempts: 1 }, { prompt: 'drawing' });
    job = (await target.get('x')) as StoredJob;
    expect(job.status).toBe('CANCELLED');
    expect(job.stats).toMatchObject({ cancelled: 2, pending: 0 });
    const seen = await events(target, 'x');
    expect(seen.filter((event) => event.done)).toHaveLength(1);
    expect(seen.at(-1)).toMatchObject({ sequence: 6, done: true, stats: { cancelled: 2 } });
  });

  it('finishes a job at once when cancelled before any image started, and leaves a finished job as it is', async () => {
    const target = await store();
    await target.create(contractJob('early', 'f'));
    expect(await target.cancel('early')).toBe(true);
    const job = (await target.finished('early')) as StoredJob;
    expect(job).toMatchObject({ status: 'CANCELLED', stats: { cancelled: 2, pending: 0 } });
    expect((await events(target, 'early')).map((event) => event.sequence)).toEqual([1, 2, 3, 4, 5]);

    await target.create(contractJob('done', 'f'));
    await target.recordImage('done', [0, 1], succeeded(), { prompt: 'p' });
    expect(await target.cancel('done')).toBe(true);
    expect(await target.isCancelled('done')).toBe(false);
    expect(await target.get('done')).toMatchObject({ status: 'COMPLETED', stats: { successful: 2, cancelled: 0 } });
    expect(await events(target, 'done')).toHaveLength(5);
  });

  it('replays events from the first to a late follower, then follows live ones to the end', async () => {
    const target = await store();
    await target.create(contractJob('j', 'f'));
    await target.recordImage('j', [0], generating(), { prompt: 'p' });
    const seen: number[] = [];
    const following = (async () => {
      for await (const received of target.follow('j', { waitMs: 0, signal: never() })) seen.push(received.sequence);
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await target.recordImage('j', [0, 1], succeeded(), { prompt: 'p' });
    await following;
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('carries an event picture to followers', async () => {
    const target = await store();
    await target.create(contractJob('p', 'f'));
    const bytes = tinyPng('event');
    await target.recordImage('p', [0], succeeded(bytes), { prompt: 'p' });
    await target.recordImage('p', [1], { status: 'FAILED', attempts: 1 }, { prompt: 'p' });
    const seen = await events(target, 'p', 2);
    expect(seen[0]?.image?.id).toBe('0-0');
    expect(seen[0]?.image?.image?.bytes.equals(bytes)).toBe(true);
    expect(seen[1]?.image?.image).toBeNull();
    expect(seen[2]?.image).toBeNull();
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
    await target.cancel('later');
    await following;
    expect(seen).toEqual([1, 2, 3, 4, 5]);

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
    const read = async (after: number) => (await events(target, 'after', after)).map((event) => event.sequence);
    await target.recordImage('after', [0], generating(), { prompt: 'p' });
    const resumed = read(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await target.recordImage('after', [0, 1], succeeded(), { prompt: 'p' });
    expect(await resumed).toEqual([2, 3, 4, 5, 6]);
    expect(await read(3)).toEqual([4, 5, 6]);
    expect(await read(6)).toEqual([]);
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
    // Events 3 to 57: image 0 starts and waits to retry, again and again; then both succeed (58, 59) and it ends.
    for (let sequence = 3; sequence <= total - 3; sequence++) {
      const patch =
        sequence % 2 === 1 ? generating() : { status: 'RETRYING' as const, attempts: 1, retryInMs: 10, error: null };
      await target.recordImage('many', [0], patch, { prompt: 'p' });
      if (sequence % 20 === 0) during.push(follow());
    }
    await target.recordImage('many', [0, 1], succeeded(), { prompt: 'p' });
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
