import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchTracker, type ImagePatch, queuedResult } from '../src/generation/batch-tracker.js';
import { emptyTally, finalProgressOf, statsOf } from '../src/generation/job-tally.js';
import type { GenerationStats, ImageResult, Progress } from '../src/generation/types.js';
import type { JobStore, StoredJob } from '../src/jobs/job-store.js';
import { MemoryJobStore } from '../src/jobs/memory-job-store.js';
import { RedisJobStore } from '../src/jobs/redis-job-store.js';
import { StreamMultiplexer } from '../src/jobs/redis-stream-multiplexer.js';
import { createLogger } from '../src/logger.js';
import { deleteKeys, describeWithRedis, testRedisUrl, uniquePrefix } from './support/redis.js';
import { tinyPng } from './support/test-images.js';

/**
 * Stats and progress are derived in one place, src/generation/job-tally.ts: by the BatchTracker from its running
 * counters (what the generation service reports), by the in-memory store from its own, by the Redis store from the
 * raw counts its Lua scripts write into each event. The same image transitions, applied through each (through both
 * stores by the very calls the runners make), must read the same on every event.
 */

const prompts = ['a fox', 'a hen', 'a cow', 'a cow'];
const images = prompts.map((prompt, index) => ({
  id: `0-${index}`,
  prompt,
  requestedDimensions: { width: 60, height: 64 },
  dimensions: { width: 64, height: 64 },
  // Images 2 and 3 are identical requests: one upstream call, one patch for both.
  deduplicated: index === 3,
}));

interface Step {
  at: number;
  indexes: number[];
  patch: ImagePatch;
  /** An attempt after the first: counted once per upstream call, however many images share it. */
  retry?: boolean;
}

const unavailable = { code: 'UPSTREAM_UNAVAILABLE' as const, message: 'Upstream answered 503.', retryable: true };
const steps: Step[] = [
  { at: 10, indexes: [0], patch: { status: 'GENERATING', attempts: 1 } },
  { at: 20, indexes: [1], patch: { status: 'GENERATING', attempts: 1 } },
  { at: 30, indexes: [2, 3], patch: { status: 'GENERATING', attempts: 1 } },
  {
    at: 40,
    indexes: [1],
    patch: { status: 'FAILED', attempts: 1, error: { ...unavailable, message: 'Gave up.', retryable: false } },
  },
  // A second final state for the same image (a recovered task, say) is ignored by both.
  { at: 45, indexes: [1], patch: { status: 'SUCCEEDED', attempts: 1 } },
  {
    at: 50,
    indexes: [2, 3],
    patch: {
      status: 'CANCELLED',
      attempts: 1,
      error: { code: 'CANCELLED', message: 'Cancelled before the image was finished.', retryable: false },
    },
  },
  { at: 60, indexes: [0], patch: { status: 'RETRYING', attempts: 1, error: unavailable, retryInMs: 250 } },
  { at: 70, indexes: [0], patch: { status: 'GENERATING', attempts: 2 }, retry: true },
  {
    at: 80,
    indexes: [0],
    patch: { status: 'SUCCEEDED', attempts: 2, image: { mimeType: 'image/png', bytes: tinyPng('fox') } },
  },
];

interface Observed {
  image: ImageResult | null;
  progress: Progress;
  stats: GenerationStats;
}

/** In process: as GenerationService.runTask drives the tracker, then the final event as the job runner writes it. */
function throughTracker(): Observed[] {
  let clock = 0;
  const seen: Observed[] = [];
  const tracker = new BatchTracker(
    images,
    (event) => seen.push(event),
    () => clock,
  );
  tracker.announceQueued();
  for (const step of steps) {
    clock = step.at;
    if (step.retry) tracker.countRetry();
    for (const index of step.indexes) if (!tracker.isTerminal(index)) tracker.update(index, step.patch);
  }
  tracker.finish();
  const stats = tracker.stats();
  seen.push({ image: null, progress: finalProgressOf(stats), stats });
  return seen;
}

/** Through a job store, by the calls both runners make: each change by recordImage, as the runners record them. */
async function throughStore(
  open: (now: () => number) => JobStore,
): Promise<{ events: Observed[]; job: StoredJob | undefined }> {
  const createdAt = Math.floor(Date.now() / 1000) * 1000;
  let clock = 0;
  const store = open(() => createdAt + clock);
  const job: StoredJob = {
    id: 'same',
    status: 'RUNNING',
    results: images.map(queuedResult),
    stats: statsOf(emptyTally(images.length)),
    createdAt: new Date(createdAt),
    finishedAt: null,
    fingerprint: 'f',
    owner: 'tester',
  };
  try {
    expect(await store.create(job)).toBe('created');
    for (const step of steps) {
      clock = step.at;
      const prompt = prompts[step.indexes[0] ?? 0] ?? '';
      await store.recordImage('same', step.indexes, step.patch, { prompt, retries: step.retry ? 1 : 0 });
    }
    const events: Observed[] = [];
    for await (const event of store.follow('same', { waitMs: 0, signal: new AbortController().signal })) {
      events.push({ image: event.image, progress: event.progress, stats: event.stats });
    }
    return { events, job: await store.get('same') };
  } finally {
    await store.close();
  }
}

const inMemory = (now: () => number) => new MemoryJobStore({ retentionMs: 60_000, maxRetained: 100, now });

describe('stats and progress, in the batch tracker and the in-memory job store', () => {
  it('derive the same stats and progress on every event from the same transitions', async () => {
    const inProcess = throughTracker();
    const { events: stored, job } = await throughStore(inMemory);

    expect(stored).toHaveLength(inProcess.length);
    stored.forEach((event, index) => expect(event, `event ${index + 1}`).toEqual(inProcess[index]));

    // And both say what the script means, not merely the same thing: 4 announced, 10 changes, the final event.
    expect(inProcess.map((event) => event.progress.current)).toEqual([
      ...[null, null, null, null],
      ...['a fox', 'a hen', 'a cow', 'a cow', 'a cow'],
      // The cows stop: the fox, started earlier and still in flight, is current again.
      ...['a cow', 'a fox'],
      ...[null, 'a fox', null],
      null,
    ]);
    expect(inProcess.map((event) => event.progress.completed)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 4, 4]);
    const final = inProcess.at(-1);
    expect(final?.stats).toEqual({
      total: 4,
      successful: 1,
      failed: 1,
      cancelled: 2,
      pending: 0,
      retries: 1,
      durationMs: 80,
    });
    expect(final?.progress).toEqual({ completed: 4, total: 4, errors: 1, current: null });
    expect(job?.stats).toEqual(final?.stats);
    expect(job?.status).toBe('COMPLETED');
  });
});

describeWithRedis('stats and progress, in memory and in Redis', () => {
  let command: Redis;
  let blocking: Redis;
  let streams: StreamMultiplexer;
  const prefix = uniquePrefix('tally');

  beforeAll(() => {
    const url = testRedisUrl(11) as string;
    command = new Redis(url);
    blocking = new Redis(url);
    streams = new StreamMultiplexer(blocking, command, createLogger({ level: 'silent', secrets: [] }));
  });
  afterAll(async () => {
    await streams.close();
    await deleteKeys(command, prefix);
    command.disconnect();
    blocking.disconnect();
  });

  it('read the same job and the same events, pictures included, through the same calls', async () => {
    const inRedis = await throughStore(
      (now) => new RedisJobStore({ redis: command, streams, retentionMs: 60_000, prefix, now }),
    );
    const inMemoryStore = await throughStore(inMemory);

    expect(inRedis.events).toHaveLength(15);
    expect(inRedis.events).toEqual(inMemoryStore.events);
    expect(inRedis.job).toEqual(inMemoryStore.job);
    expect(inRedis.job?.results[0]?.image?.bytes.equals(tinyPng('fox'))).toBe(true);
  });
});
