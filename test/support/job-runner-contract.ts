import { afterEach, expect, it } from 'vitest';
import { queuedResult } from '../../src/generation/batch-tracker.js';
import type { ImageRequest } from '../../src/generation/types.js';
import type { JobRunner } from '../../src/jobs/job-runner.js';
import type { JobStore, StoredJob } from '../../src/jobs/job-store.js';
import type { GenerationEvent } from '../../src/jobs/types.js';
import type { GatedProvider } from './gated-provider.js';

export interface OpenedRunner {
  store: JobStore;
  runner: JobRunner;
  /** The upstream the runner's generation service calls: nothing finishes until the test releases it. */
  provider: GatedProvider;
  close(): Promise<void>;
}

export interface RunnerContractOptions {
  /** What a drain does to images still running when its grace period ends. */
  afterGrace: 'cancelled' | 'handed back';
}

/**
 * What every JobRunner promises the job manager, whoever runs the images: the in-process runner and the Redis queue
 * run this same suite (test/job-runner.test.ts). Upstream concurrency is 2 in every runner it opens.
 */
export function jobRunnerContract(open: () => Promise<OpenedRunner>, options: RunnerContractOptions): void {
  const opened: OpenedRunner[] = [];
  afterEach(async () => {
    for (const runner of opened.splice(0)) {
      runner.provider.open();
      await runner.close();
    }
  });
  const runnerFor = async () => {
    const runner = await open();
    opened.push(runner);
    return runner;
  };

  /** Creates the job in the store, as the job manager does, then hands it to the runner. */
  const start = async ({ store, runner }: OpenedRunner, id: string, prompts: string[]) => {
    const images: ImageRequest[] = prompts.map((prompt, index) => ({
      id: `i${index}`,
      prompt,
      width: 256,
      height: 256,
    }));
    const job = runnerJob(id, images);
    expect(await store.create(job)).toBe('created');
    await runner.run({ job, images, publicId: id, tenant: 'contract' });
    return job;
  };

  it("ends a started job's images final, then the job, with one done event after gapless events", async () => {
    const opened = await runnerFor();
    opened.provider.open();
    await start(opened, 'ran', ['a red kite', 'a blue boat']);
    const events = await allEvents(opened.store, 'ran');
    expect(events.map((event) => event.sequence)).toEqual(events.map((_, index) => index + 1));
    expect(events.filter((event) => event.done)).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ done: true, stats: { total: 2, successful: 2, pending: 0 } });
    const finished = (await opened.store.finished('ran')) as StoredJob;
    expect(finished.status).toBe('COMPLETED');
    expect(finished.finishedAt).not.toBeNull();
    expect(finished.results.map((result) => [result.id, result.status])).toEqual([
      ['i0', 'SUCCEEDED'],
      ['i1', 'SUCCEEDED'],
    ]);
    expect(finished.results[0]?.image?.mimeType).toBe('image/png');
  });

  it('counts a job as running here while its images run, and no longer once it has finished', async () => {
    const opened = await runnerFor();
    expect(opened.runner.runningCount).toBe(0);
    await start(opened, 'counted', ['a slow snail', 'a slower tortoise']);
    await opened.provider.whenWaiting(2);
    // Two images in flight are one job.
    expect(opened.runner.runningCount).toBe(1);
    opened.provider.release();
    await opened.store.finished('counted');
    await expect.poll(() => opened.runner.runningCount).toBe(0);
  });

  it('cancels a job: images in flight and queued all end CANCELLED, and so does the job', async () => {
    const opened = await runnerFor();
    await start(opened, 'stopped', ['one', 'two', 'three']);
    await opened.provider.whenWaiting(2);
    expect(await opened.runner.cancel('stopped')).toBe(true);
    const finished = (await opened.store.finished('stopped')) as StoredJob;
    expect(finished.status).toBe('CANCELLED');
    expect(finished.stats).toMatchObject({ total: 3, cancelled: 3, pending: 0 });
    expect(finished.results.map((result) => [result.status, result.error?.code])).toEqual([
      ['CANCELLED', 'CANCELLED'],
      ['CANCELLED', 'CANCELLED'],
      ['CANCELLED', 'CANCELLED'],
    ]);
    const events = await allEvents(opened.store, 'stopped');
    expect(events.at(-1)).toMatchObject({ done: true, stats: { cancelled: 3 } });
    expect(opened.provider.calls).toBe(2);
    expect(await opened.runner.cancel('never-created')).toBe(false);
  });

  it('drains by letting running images finish within the grace period', async () => {
    const opened = await runnerFor();
    await start(opened, 'graceful', ['finish me', 'and me']);
    await opened.provider.whenWaiting(2);
    let drained = false;
    const draining = opened.runner.drain(30_000).then(() => {
      drained = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(drained).toBe(false);
    opened.provider.release();
    await draining;
    const finished = (await opened.store.finished('graceful')) as StoredJob;
    expect(finished.results.map((result) => result.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(opened.runner.runningCount).toBe(0);
  });

  it(`drains by stopping what still runs when the grace period ends: ${options.afterGrace}`, async () => {
    const opened = await runnerFor();
    await start(opened, 'cut-short', ['never released', 'nor this']);
    await opened.provider.whenWaiting(2);
    await opened.runner.drain(50);
    expect(opened.runner.runningCount).toBe(0);
    const job = (await opened.store.get('cut-short')) as StoredJob;
    if (options.afterGrace === 'cancelled') {
      expect(job.status).toBe('CANCELLED');
      expect(job.results.map((result) => result.status)).toEqual(['CANCELLED', 'CANCELLED']);
      expect((await allEvents(opened.store, 'cut-short')).at(-1)?.done).toBe(true);
    } else {
      // Back in the queue for another replica: nothing recorded as cancelled, the job still running.
      expect(job.status).toBe('RUNNING');
      expect(job.results.map((result) => result.status)).toEqual(['QUEUED', 'QUEUED']);
    }
  });
}

function runnerJob(id: string, images: ImageRequest[]): StoredJob {
  return {
    id,
    status: 'RUNNING',
    results: images.map((image) =>
      queuedResult({
        id: image.id,
        requestedDimensions: { width: image.width, height: image.height },
        dimensions: { width: image.width, height: image.height },
        deduplicated: false,
      }),
    ),
    stats: {
      total: images.length,
      successful: 0,
      failed: 0,
      cancelled: 0,
      pending: images.length,
      retries: 0,
      durationMs: 0,
    },
    createdAt: new Date(),
    finishedAt: null,
    fingerprint: id,
    owner: 'contract',
  };
}

async function allEvents(store: JobStore, id: string): Promise<GenerationEvent[]> {
  const events: GenerationEvent[] = [];
  for await (const event of store.follow(id, { waitMs: 0, signal: new AbortController().signal })) events.push(event);
  return events;
}
