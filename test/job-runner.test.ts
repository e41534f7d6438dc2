import { Redis } from 'ioredis';
import { describe } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createGenerationService } from '../src/generation/create-generation-service.js';
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
