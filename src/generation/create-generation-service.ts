import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { ImageProvider } from '../providers/types.js';
import type { GenerationObserver } from './generation-observer.js';
import { GenerationService } from './generation-service.js';
import { type BudgetStore, InProcessUpstreamLimiter } from './upstream-limiter.js';

/** With REDIS_URL: the key's budget shared by every replica, and who else hears of a pause. */
export interface SharedBudget {
  store: BudgetStore;
  onPause: (milliseconds: number) => void;
}

/**
 * Wires the generation service from the configuration: one limiter for the process's one upstream key, over the
 * budget of this process or, with `shared`, of every replica.
 */
export function createGenerationService(
  config: Config,
  provider: ImageProvider,
  logger: Logger,
  observer?: GenerationObserver,
  shared?: SharedBudget,
): GenerationService {
  const onPause = (milliseconds: number) => {
    observer?.rateLimitPause?.(milliseconds);
    shared?.onPause(milliseconds);
  };
  return new GenerationService({
    provider,
    limits: config.images,
    maxAttempts: config.generation.maxAttempts,
    upstreamTimeoutMs: config.generation.upstreamTimeoutMs,
    rateLimitMaxWaitMs: config.generation.rateLimitMaxWaitMs,
    limiter: new InProcessUpstreamLimiter({
      maxConcurrency: config.generation.concurrency,
      rateLimitMaxWaitMs: config.generation.rateLimitMaxWaitMs,
      logger,
      ...(observer?.queueWait ? { onQueueWait: observer.queueWait.bind(observer) } : {}),
      onPause,
      ...(shared ? { store: shared.store } : {}),
    }),
    logger,
    ...(observer ? { observer } : {}),
    requestFingerprint: `${provider.name}:${config.together.model}:${config.together.steps}`,
  });
}
