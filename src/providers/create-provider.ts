import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createLocalProvider } from './local/index.js';
import { createTogetherProvider } from './together-provider.js';
import type { ImageProvider } from './types.js';

/** The provider the configuration names: Together AI when a key is set, else the embedded offline one. */
export function createProvider(config: Config, logger?: Logger): ImageProvider {
  if (config.provider === 'together' && config.together.apiKey) {
    return createTogetherProvider({
      apiKey: config.together.apiKey,
      baseUrl: config.together.baseUrl,
      model: config.together.model,
      steps: config.together.steps,
      connections: config.generation.concurrency,
      imageHosts: config.together.imageHosts,
      maxImageBytes: config.together.maxImageBytes,
      ...(logger ? { logger } : {}),
    });
  }
  return createLocalProvider();
}
