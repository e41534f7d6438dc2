import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { ImageProvider } from '../providers/types.js';
import type { GenerationObserver } from './generation-observer.js';
import { GenerationService } from './generation-service.js';
import { UpstreamLimiter } from './upstream-limiter.js';

/** Wires the generation service from the configuration: one limiter for the whole process. */
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
    limiter: new UpstreamLimiter(config.generation.concurrency, observer?.queueWait?.bind(observer)),
    logger,
    ...(observer ? { observer } : {}),
    requestFingerprint: `${provider.name}:${config.together.model}:${config.together.steps}`,
  });
}
