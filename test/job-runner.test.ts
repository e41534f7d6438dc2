import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { queuedResult } from '../src/generation/batch-tracker.js';
import { createGenerationService } from '../src/generation/create-generation-service.js';
import { emptyTally, statsOf } from '../src/generation/job-tally.js';
import type { ImageResult } from '../src/generation/types.js';
import { imageChangeOf } from '../src/jobs/image-change.js';
import type { StoredJob } from '../src/jobs/job-store.js';
import { LocalJobRunner } from '../src/jobs/local-job-runner.js';
import { MemoryJobStore } from '../src/jobs/memory-job-store.js';
import { connectRedisMode } from '../src/jobs/redis-mode.js';
import { silentLogger } from '../src/logger.js';
import { createGatedProvider } from './support/gated-provider.js';
import { jobRunnerContract } from './support/job-runner-contract.js';
import { deleteKeys, describeWithRedis, testRedisUrl, uniquePrefix } from './support/redis.js';

const config = parseConfig({ IMAGE_PROVIDER: 'local', GENERATION_CONCURRENCY: '2' });
const logger = silentLogger();

describe('the in-process job runner: the contract every job runner keeps', () => {
  jobRunnerContract(
    async () => {
      const provider = createGatedProvider();
      const service = createGenerationService(config, provider, logger);
      const store = new MemoryJobStore({ retentionMs: 60_000, maxRetained: 100 });
      const runner = new LocalJobRunner({ service, store, logger });
      return {
        store,
        runner,
        provider,
        async close() {
          await runner.drain(0);
          await store.close();
          await provider.close();
        },
      };
    },
    { afterGrace: 'cancelled' },
  );
});

describeWithRedis('the Redis work queue: the contract every job runner keeps', { timeout: 30_000 }, () => {
  const url = testRedisUrl(11) as string;
  jobRunnerContract(
    async () => {
      const provider = createGatedProvider();
      const prefix = uniquePrefix('runner');
      const parts = connectRedisMode({
        url,
        logger,
        prefix,
        retentionMs: 60_000,
        maxRetained: 100,
        maxRetainedBytes: 10_000_000,
        concurrency: 2,
        upstreamTimeoutMs: 10_000,
      });
      const service = createGenerationService(config, provider, logger, undefined, parts.budget);
      const mode = parts.build(service);
      await mode.start();
      return {
        store: mode.store,
        runner: mode.queue,
        provider,
        async close() {
          await mode.queue.drain(0);
          await mode.close();
          await provider.close();
          const redis = new Redis(url);
          await deleteKeys(redis, prefix);
          redis.disconnect();
        },
      };
    },
    { afterGrace: 'handed back' },
  );
});

describe('the in-process job runner, beyond the contract', () => {
  it('ends every image FAILED with INTERNAL, and the job with one final event, when the batch throws (a bug)', async () => {
    const provider = createGatedProvider();
    const service = createGenerationService(config, provider, logger);
    const store = new MemoryJobStore({ retentionMs: 60_000, maxRetained: 100 });
    const runner = new LocalJobRunner({ service, store, logger });
    // Past the job manager's validation only by a bug: the service's own check throws inside the runner.
    const images = [
      { id: 'i0', prompt: '', width: 256, height: 256 },
      { id: 'i1', prompt: 'fine', width: 256, height: 256 },
    ];
    const job: StoredJob = {
      id: 'broken',
      status: 'RUNNING',
      results: images.map((image) =>
        queuedResult({ id: image.id, requestedDimensions: image, dimensions: image, deduplicated: false }),
      ),
      stats: statsOf(emptyTally(2)),
      createdAt: new Date(),
      finishedAt: null,
      fingerprint: 'broken',
      owner: 'tester',
    };
    try {
      await store.create(job);
      await runner.run({ job, images, publicId: 'broken', tenant: 'tester' });
      const finished = (await store.finished('broken')) as StoredJob;
      expect(finished.status).toBe('COMPLETED');
      expect(finished.stats).toMatchObject({ total: 2, failed: 2, pending: 0 });
      expect(finished.results.map((result) => [result.status, result.error?.code])).toEqual([
        ['FAILED', 'INTERNAL'],
        ['FAILED', 'INTERNAL'],
      ]);
      const events = [];
      for await (const event of store.follow('broken', { waitMs: 0, signal: new AbortController().signal }))
        events.push(event);
      expect(events.map((event) => event.sequence)).toEqual([1, 2, 3, 4, 5]);
      expect(events.filter((event) => event.done)).toHaveLength(1);
      expect(provider.calls).toBe(0);
      await expect.poll(() => runner.runningCount).toBe(0);
    } finally {
      await runner.drain(0);
      await store.close();
      await provider.close();
    }
  });
});

describe('what both runners record of an image the generation service reports', () => {
  const image = (patch: Partial<ImageResult>): ImageResult => ({
    ...queuedResult({
      id: 'i0',
      requestedDimensions: { width: 256, height: 256 },
      dimensions: { width: 256, height: 256 },
      deduplicated: false,
    }),
    ...patch,
  });

  it('skips QUEUED, keeps the picture only on success, and counts a retry once per upstream call', () => {
    expect(imageChangeOf(image({}))).toBeUndefined();
    const picture = { mimeType: 'image/png', bytes: Buffer.from('png') };
    expect(imageChangeOf(image({ status: 'SUCCEEDED', attempts: 1, image: picture }))).toEqual({
      patch: { status: 'SUCCEEDED', attempts: 1, error: null, retryInMs: null, image: picture },
      retries: 0,
    });
    expect(imageChangeOf(image({ status: 'GENERATING', attempts: 1 }))?.retries).toBe(0);
    expect(imageChangeOf(image({ status: 'GENERATING', attempts: 2 }))).toEqual({
      patch: { status: 'GENERATING', attempts: 2, error: null, retryInMs: null },
      retries: 1,
    });
    // An identical request shares the first one's upstream call: its retry is the first one's, counted there.
    expect(imageChangeOf(image({ status: 'GENERATING', attempts: 2, deduplicated: true }))?.retries).toBe(0);
    expect(imageChangeOf(image({ status: 'RETRYING', attempts: 2, retryInMs: 100 }))).toMatchObject({
      patch: { status: 'RETRYING', retryInMs: 100 },
      retries: 0,
    });
  });
});
