import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';

/** A command could not reach Redis: the shared state of the replicas is out of reach for now. */
export class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('The job store (Redis) cannot be reached right now; try again in a few seconds', { cause });
    this.name = 'StoreUnavailableError';
  }
}

export interface RedisConnectionOptions {
  logger: Logger;
  /** Names the connection in logs and in Redis' CLIENT LIST. */
  name: string;
  /**
   * BullMQ's connections must wait for Redis rather than fail (it requires maxRetriesPerRequest: null); ours answer
   * a request within a few seconds while Redis is away, so that no caller hangs.
   */
  waitForRedis?: boolean;
}

/**
 * An ioredis connection that never crashes the process and never holds a caller for long: while Redis is away,
 * commands fail within a few seconds and the connection keeps trying again in the background, up to once a second,
 * so the replica recovers by itself.
 */
export function connectRedis(url: string, options: RedisConnectionOptions): Redis {
  const settings: RedisOptions = {
    connectionName: `worksheet-images:${options.name}`,
    connectTimeout: 3000,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    ...(options.waitForRedis
      ? { maxRetriesPerRequest: null, enableOfflineQueue: true }
      : // Commands sent before the first connection wait for it; during an outage they fail after one reconnection
        // attempt, and none waits more than 5 s.
        { maxRetriesPerRequest: 1, enableOfflineQueue: true, commandTimeout: 5000 }),
  };
  const redis = new Redis(url, settings);
  let down = false;
  // Without a listener ioredis would print every failed reconnection; one line per outage is enough.
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    options.logger.error({ err: { message: error.message }, connection: options.name }, 'redis connection lost');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    options.logger.info({ connection: options.name }, 'redis connection back');
  });
  return redis;
}

/** Whether a failure means "Redis is unreachable" rather than a bug. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Command timed out|MaxRetriesPerRequest|enableOfflineQueue|connect/i.test(
    error.message,
  );
}
