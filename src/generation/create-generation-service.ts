import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { ImageProvider } from '../providers/types.js';
import type { GenerationObserver } from './generation-observer.js';
import { GenerationService } from './generation-service.js';
import { InProcessUpstreamLimiter } from './upstream-limiter.js';

/** Wires the generation service from the configuration: one limiter for the process's one upstream key. */
export function createGenerationService(
  config: Config,
  provider: ImageProvider,
  logger: Logger,
  observer?: GenerationObserver,
): GenerationService {
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
      ...(observer?.rateLimitPause ? { onPause: observer.rateLimitPause.bind(observer) } : {}),
    }),
    logger,
    ...(observer ? { observer } : {}),
    requestFingerprint: `${provider.name}:${config.together.model}:${config.together.steps}`,
  });
}
