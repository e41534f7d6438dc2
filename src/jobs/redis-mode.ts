import type { Redis } from 'ioredis';
import type { SharedBudget } from '../generation/create-generation-service.js';
import type { GenerationObserver } from '../generation/generation-observer.js';
import type { GenerationService } from '../generation/generation-service.js';
import { DEFAULT_BUDGET_SETTINGS } from '../generation/upstream-budget.js';
import type { Logger } from '../logger.js';
import { RedisBudgetStore } from './redis-budget-store.js';
import { connectRedis } from './redis-connection.js';
import { RedisJobStore } from './redis-job-store.js';
import { StreamMultiplexer } from './redis-stream-multiplexer.js';
import { RedisWorkQueue } from './redis-work-queue.js';

/** What a replica shares with the others when REDIS_URL is set. */
export interface RedisMode {
  store: RedisJobStore;
  queue: RedisWorkQueue;
  /** Whether Redis answers: /ready says 503 while it does not. */
  readonly healthy: boolean;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface RedisModeOptions {
  url: string;
  logger: Logger;
  /** Keys and queue names start with it. Default "wi". */
  prefix?: string;
  retentionMs: number;
  maxRetained: number;
  maxRetainedBytes: number;
  concurrency: number;
  /** Per attempt: a replica that dies holding an upstream slot gives it back after this and some margin. */
  upstreamTimeoutMs: number;
  /** Lock of a running image; a killed replica's images are taken over after about twice this. */
  lockMs?: number;
  /** How often the replica reads the cancel flags of the jobs it runs images of (see RedisWorkQueueOptions). */
  cancelCheckMs?: number;
  /** Counts the jobs this replica finishes (jobs_finished_total): each job on the replica whose write finished it. */
  observer?: GenerationObserver;
}

/**
 * The upstream budget must exist before the generation service is built (its limiter takes it); the rest needs the
 * service. A pause met by any replica also stops the queue from handing out images for as long.
 */
export function connectRedisMode(options: RedisModeOptions) {
  const prefix = options.prefix ?? 'wi';
  const command = connectRedis(options.url, { logger: options.logger, name: 'commands' });
  const blocking = connectRedis(options.url, { logger: options.logger, name: 'streams', waitForRedis: true });
  const budgetConnection = connectRedis(options.url, { logger: options.logger, name: 'budget' });
  let queue: RedisWorkQueue | undefined;
  const budgetStore = new RedisBudgetStore({
    redis: budgetConnection,
    key: `${prefix}:budget`,
    settings: { ...DEFAULT_BUDGET_SETTINGS, maxConcurrency: options.concurrency },
    leaseMs: options.upstreamTimeoutMs + 30_000,
  });
  const budget: SharedBudget = {
    store: budgetStore,
    onPause: (milliseconds) => queue?.pause(milliseconds),
  };
  return {
    budget,
    /** The command connection, for what else the replicas share (the image quota); closed with the mode. */
    commands: command,
    prefix,
    build: (service: GenerationService): RedisMode => {
      const mode = buildRedisMode(options, { command, blocking, service, prefix });
      queue = mode.queue;
      const close = mode.close;
      return {
        ...mode,
        get healthy() {
          return mode.healthy;
        },
        async close() {
          await close();
          budgetStore.close();
          budgetConnection.disconnect();
        },
      };
    },
  };
}

function buildRedisMode(
  options: RedisModeOptions,
  parts: { command: Redis; blocking: Redis; service: GenerationService; prefix: string },
): RedisMode {
  const { command, blocking, service, prefix } = parts;
  const streams = new StreamMultiplexer(blocking, command, options.logger);
  const store = new RedisJobStore({
    redis: command,
    streams,
    retentionMs: options.retentionMs,
    maxRetained: options.maxRetained,
    maxRetainedBytes: options.maxRetainedBytes,
    prefix,
    // The work queue's enqueue timeout: by then a job's creator has enqueued its images or given up.
    enqueueGraceMs: 5000,
    ...(options.observer ? { observer: options.observer } : {}),
  });
  const queue = new RedisWorkQueue({
    url: options.url,
    prefix,
    store,
    service,
    logger: options.logger,
    concurrency: options.concurrency,
    publisher: command,
    ...(options.lockMs ? { lockMs: options.lockMs } : {}),
    ...(options.cancelCheckMs ? { cancelCheckMs: options.cancelCheckMs } : {}),
  });
  return {
    store,
    queue,
    get healthy() {
      return command.status === 'ready';
    },
    start: () => queue.start(),
    async close() {
      await queue.close();
      await streams.close();
      command.disconnect();
      blocking.disconnect();
    },
  };
}
