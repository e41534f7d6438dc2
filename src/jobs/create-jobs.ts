import type { Config } from '../config.js';
import type { GenerationObserver } from '../generation/generation-observer.js';
import type { GenerationService } from '../generation/generation-service.js';
import type { Logger } from '../logger.js';
import { JobManager } from './job-manager.js';
import type { JobRunner } from './job-runner.js';
import type { JobStore } from './job-store.js';
import { LocalJobRunner } from './local-job-runner.js';
import { MemoryJobStore } from './memory-job-store.js';
import type { RedisMode } from './redis-mode.js';

export interface Jobs {
  jobs: JobManager;
  store: JobStore;
  /** Closes the store (the Redis connections are the Redis mode's to close). */
  close(): Promise<void>;
}

/**
 * The job layer the way the server and the CLI both use it: with `redis`, jobs live in Redis and every replica's
 * queue runs their images; without, this process keeps them in memory and runs them itself.
 */
export function createJobs(
  config: Config,
  service: GenerationService,
  logger: Logger,
  observer?: GenerationObserver,
  redis?: Pick<RedisMode, 'store' | 'queue'>,
): Jobs {
  const store: JobStore =
    redis?.store ??
    new MemoryJobStore({
      retentionMs: config.jobs.retentionMs,
      maxRetained: config.jobs.maxRetained,
      maxRetainedBytes: config.jobs.maxRetainedBytes,
    });
  const runner: JobRunner =
    redis?.queue ?? new LocalJobRunner({ service, store, logger, ...(observer ? { observer } : {}) });
  const jobs = new JobManager({
    service,
    store,
    runner,
    logger,
    subscribeWaitMs: config.jobs.subscribeWaitMs,
    maxWaitingPerOwner: config.security.maxWaitingSubscriptionsPerClient,
    ...(observer ? { observer } : {}),
  });
  return { jobs, store, close: () => store.close() };
}
