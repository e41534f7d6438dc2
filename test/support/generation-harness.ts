import { afterEach } from 'vitest';
/**
 * The real generation service and the real Together provider, wired the way the server wires them, but pointed at a
 * fake Together on loopback, with small backoffs for speed and every log line captured for assertions.
 */
import type { DestinationStream } from 'pino';
import { GenerationService } from '../../src/generation/generation-service.js';
import type { ImageLimits } from '../../src/generation/image-limits.js';
import type { ImageRequest } from '../../src/generation/types.js';
import type { BudgetSettings } from '../../src/generation/upstream-budget.js';
import { InProcessUpstreamLimiter } from '../../src/generation/upstream-limiter.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createTogetherProvider } from '../../src/providers/together-provider.js';
import type { ImageProvider } from '../../src/providers/types.js';
import {
  FAKE_TOGETHER_MODEL,
  startFakeTogether,
  type FakeTogether,
  type FakeTogetherOptions,
} from './fake-together.js';

export interface GenerationHarnessOptions {
  /** How to start the fake; its own apiKey option decides which key it accepts. */
  fake?: FakeTogetherOptions;
  /** The key the provider sends. Default: the one the fake accepts. */
  apiKey?: string;
  /** Default: the one model the fake knows. */
  model?: string;
  steps?: number;
  /** Default 4. */
  concurrency?: number;
  /** Default 3. */
  maxAttempts?: number;
  /** Default 10 s: long enough never to fire unless a test means it to. */
  upstreamTimeoutMs?: number;
  /** Default 10 s. */
  rateLimitMaxWaitMs?: number;
  /** Overrides of the limiter's floors, caps and growth hold. */
  budget?: Partial<Omit<BudgetSettings, 'maxConcurrency'>>;
  /** Default 5 to 50 ms, so retry tests run fast. */
  backoff?: { baseDelayMs: number; maxDelayMs: number };
  limits?: Partial<ImageLimits>;
  /** Values the logger scrubs from every line. Default: the API key, as the server does. */
  logSecrets?: readonly string[];
}

export interface GenerationHarness {
  fake: FakeTogether;
  service: GenerationService;
  provider: ImageProvider;
  limiter: InProcessUpstreamLimiter;
  logger: Logger;
  apiKey: string;
  /** Every log line written so far, oldest first, as the raw JSON text pino wrote. */
  logLines(): string[];
  /** The captured lines parsed, for assertions on fields. */
  logEntries(): Array<Record<string, unknown>>;
  /** Closes the fake first (which cuts hung requests), then the provider's connection pool. Safe to call twice. */
  close(): Promise<void>;
}

export const DEFAULT_TEST_LIMITS: ImageLimits = {
  minSide: 64,
  maxSide: 1792,
  maxPromptLength: 1000,
  maxBatchSize: 100,
};

export async function startGenerationHarness(options: GenerationHarnessOptions = {}): Promise<GenerationHarness> {
  const fake = await startFakeTogether(options.fake);
  const apiKey = options.apiKey ?? fake.apiKey;
  const model = options.model ?? FAKE_TOGETHER_MODEL;
  const steps = options.steps ?? 4;
  const concurrency = options.concurrency ?? 4;

  const lines: string[] = [];
  const destination: DestinationStream = {
    write(line: string) {
      lines.push(line);
    },
  };
  const logger = createLogger({ level: 'debug', secrets: options.logSecrets ?? [apiKey], destination });
  const provider = createTogetherProvider({ apiKey, baseUrl: fake.url, model, steps, connections: concurrency });
  const rateLimitMaxWaitMs = options.rateLimitMaxWaitMs ?? 10_000;
  const limiter = new InProcessUpstreamLimiter({
    maxConcurrency: concurrency,
    rateLimitMaxWaitMs,
    logger,
    ...(options.budget ? { budget: options.budget } : {}),
  });
  const service = new GenerationService({
    provider,
    limits: { ...DEFAULT_TEST_LIMITS, ...options.limits },
    maxAttempts: options.maxAttempts ?? 3,
    upstreamTimeoutMs: options.upstreamTimeoutMs ?? 10_000,
    rateLimitMaxWaitMs,
    limiter,
    logger,
    requestFingerprint: `${provider.name}:${model}:${steps}`,
    backoff: options.backoff ?? { baseDelayMs: 5, maxDelayMs: 50 },
  });

  let closing: Promise<void> | undefined;
  return {
    fake,
    service,
    provider,
    limiter,
    logger,
    apiKey,
    logLines: () => [...lines],
    logEntries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    close() {
      closing ??= (async () => {
        await fake.close();
        await provider.close();
      })();
      return closing;
    },
  };
}

/** `count` distinct 512x512 requests with ids "0", "1", ... and prompts "<prefix> 0", "<prefix> 1", ... */
export function imageRequests(count: number, prefix = 'a friendly cartoon animal number'): ImageRequest[] {
  return Array.from({ length: count }, (_, index) => ({
    id: String(index),
    prompt: `${prefix} ${index}`,
    width: 512,
    height: 512,
  }));
}

/**
 * One harness per test, closed after it: `const start = useGenerationHarness();` at the top of a file, then
 * `const { service, fake } = await start({ ... })` in a test.
 */
export function useGenerationHarness(): (options?: GenerationHarnessOptions) => Promise<GenerationHarness> {
  let harness: GenerationHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });
  return async (options = {}) => {
    harness = await startGenerationHarness(options);
    return harness;
  };
}
