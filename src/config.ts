import { existsSync } from 'node:fs';
import { z } from 'zod';

/**
 * The server's whole configuration, parsed once at start from the environment (and `.env`, when present).
 * Nothing else in the code reads process.env: modules receive the parts of this object they need.
 */
export interface Config {
  port: number;
  host: string;
  provider: 'together' | 'local';
  together: {
    /** Server-only secret. Never logged, never sent to a client. */
    apiKey: string | undefined;
    baseUrl: string;
    model: string;
    steps: number;
    /**
     * Where `data[].url` answers may point: https hosts (`api.together.ai`, or `*.together.ai` for subdomains), or
     * exact origins with a scheme (`http://127.0.0.1:8080`, for a local fake: plain http only when listed so).
     */
    imageHosts: string[];
    /** Largest image accepted from the upstream, in bytes; the JSON answer may be its base64 plus a little. */
    maxImageBytes: number;
  };
  images: {
    minSide: number;
    maxSide: number;
    maxPromptLength: number;
    maxBatchSize: number;
  };
  generation: {
    concurrency: number;
    maxAttempts: number;
    upstreamTimeoutMs: number;
    rateLimitMaxWaitMs: number;
  };
  jobs: {
    retentionMs: number;
    maxRetained: number;
    /** Image bytes kept across finished jobs; the oldest finished jobs go first beyond it. */
    maxRetainedBytes: number;
    subscribeWaitMs: number;
  };
  apiTokens: string[];
  /**
   * Where replicas share jobs, progress, images, cancellation and the upstream budget. Unset: everything stays in this
   * process (the embedded mode).
   */
  redisUrl: string | undefined;
  security: {
    /** Images one caller (token, or client address when no tokens are set) may request per minute; 0 turns it off. */
    quotaImagesPerMinute: number;
    /** Largest request body accepted, in bytes. */
    maxBodyBytes: number;
    /** Origins allowed to open a WebSocket; empty allows any. */
    allowedOrigins: string[];
    maxWebSocketConnections: number;
    /** WebSockets that have not authenticated yet, in a pool of their own. */
    maxPendingWebSocketConnections: number;
    /** How long a new WebSocket may take to send connection_init. */
    webSocketInitTimeoutMs: number;
    maxSubscriptionsPerConnection: number;
    /** SSE streams open at once, across clients. */
    maxSseConnections: number;
    /** WebSockets and SSE streams one client (token, or address without tokens) may hold at once. */
    maxConnectionsPerClient: number;
    /** Subscriptions one client may have waiting for jobs that do not exist yet. */
    maxWaitingSubscriptionsPerClient: number;
    /** Image bytes one query or mutation may answer inline as data URLs; `url` has no such limit. */
    maxInlineImageBytes: number;
    /** Distinct GraphQL operation names the metrics keep as labels; later ones are counted under "other". */
    maxMetricsOperationNames: number;
  };
  /** How long running jobs may take to finish on SIGTERM/SIGINT before they are cancelled. */
  shutdownGraceMs: number;
  /** Whether the progress page is served at `/`. */
  progressPage: boolean;
  production: boolean;
  graphiql: boolean;
  introspection: boolean;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const integer = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined) return fallback;
      const parsed = Number(value);
      if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
        context.addIssue({
          code: 'custom',
          message: `${name} must be a whole number from ${min} to ${max}, got "${value}"`,
        });
        return z.NEVER;
      }
      return parsed;
    });

const flag = (name: string) =>
  z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined) return undefined;
      const normalized = value.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(normalized)) return true;
      if (['0', 'false', 'no', 'off'].includes(normalized)) return false;
      context.addIssue({ code: 'custom', message: `${name} must be true or false, got "${value}"` });
      return z.NEVER;
    });

/** Together's own hosts (the API answers `data[].url` links under them), https only. */
export const DEFAULT_TOGETHER_IMAGE_HOSTS: readonly string[] = [
  'api.together.ai',
  '*.together.ai',
  'api.together.xyz',
  '*.together.xyz',
];

const environmentSchema = z.object({
  PORT: integer('PORT', 0, 65535, 4000),
  HOST: z.string().default('127.0.0.1'),
  TOGETHER_API_KEY: z.string().optional(),
  TOGETHER_BASE_URL: z
    .url({ protocol: /^https?$/, error: 'TOGETHER_BASE_URL must be an http(s) URL, e.g. https://api.together.ai/v1' })
    .default('https://api.together.ai/v1'),
  IMAGE_PROVIDER: z.enum(['together', 'local'], { error: 'IMAGE_PROVIDER must be "together" or "local"' }).optional(),
  IMAGE_MODEL: z.string().default('black-forest-labs/FLUX.1-schnell'),
  TOGETHER_IMAGE_HOSTS: z.string().default(DEFAULT_TOGETHER_IMAGE_HOSTS.join(',')),
  UPSTREAM_MAX_IMAGE_BYTES: integer('UPSTREAM_MAX_IMAGE_BYTES', 1024, 1024 ** 3, 0),
  IMAGE_STEPS: integer('IMAGE_STEPS', 1, 50, 4),
  IMAGE_MIN_SIDE: integer('IMAGE_MIN_SIDE', 16, 4096, 64),
  IMAGE_MAX_SIDE: integer('IMAGE_MAX_SIDE', 16, 4096, 1792),
  MAX_PROMPT_LENGTH: integer('MAX_PROMPT_LENGTH', 1, 100_000, 2000),
  GENERATION_CONCURRENCY: integer('GENERATION_CONCURRENCY', 1, 256, 16),
  GENERATION_MAX_ATTEMPTS: integer('GENERATION_MAX_ATTEMPTS', 1, 10, 3),
  UPSTREAM_TIMEOUT_MS: integer('UPSTREAM_TIMEOUT_MS', 100, 600_000, 60_000),
  RATE_LIMIT_MAX_WAIT_MS: integer('RATE_LIMIT_MAX_WAIT_MS', 0, 3_600_000, 120_000),
  MAX_BATCH_SIZE: integer('MAX_BATCH_SIZE', 1, 1000, 100),
  JOB_RETENTION_MS: integer('JOB_RETENTION_MS', 1000, 7 * 24 * 3_600_000, 3_600_000),
  JOB_MAX_RETAINED: integer('JOB_MAX_RETAINED', 1, 100_000, 1000),
  JOB_MAX_RETAINED_BYTES: integer('JOB_MAX_RETAINED_BYTES', 1024 * 1024, 64 * 1024 ** 3, 512 * 1024 * 1024),
  SUBSCRIBE_WAIT_MS: integer('SUBSCRIBE_WAIT_MS', 0, 600_000, 30_000),
  API_TOKENS: z.string().optional(),
  REDIS_URL: z
    .url({
      protocol: /^rediss?$/,
      error:
        'REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379 (a database number may follow: /2)',
    })
    .optional(),
  QUOTA_IMAGES_PER_MINUTE: integer('QUOTA_IMAGES_PER_MINUTE', 0, 1_000_000, 600),
  MAX_BODY_BYTES: integer('MAX_BODY_BYTES', 1024, 100 * 1024 * 1024, 1024 * 1024),
  WS_ALLOWED_ORIGINS: z.string().optional(),
  WS_MAX_CONNECTIONS: integer('WS_MAX_CONNECTIONS', 1, 1_000_000, 1000),
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: integer('WS_MAX_SUBSCRIPTIONS_PER_CONNECTION', 1, 10_000, 20),
  WS_MAX_PENDING_CONNECTIONS: integer('WS_MAX_PENDING_CONNECTIONS', 1, 100_000, 128),
  WS_INIT_TIMEOUT_MS: integer('WS_INIT_TIMEOUT_MS', 100, 60_000, 3000),
  SSE_MAX_CONNECTIONS: integer('SSE_MAX_CONNECTIONS', 1, 1_000_000, 1000),
  MAX_CONNECTIONS_PER_CLIENT: integer('MAX_CONNECTIONS_PER_CLIENT', 1, 1_000_000, 100),
  MAX_WAITING_SUBSCRIPTIONS_PER_CLIENT: integer('MAX_WAITING_SUBSCRIPTIONS_PER_CLIENT', 1, 1_000_000, 100),
  MAX_INLINE_IMAGE_BYTES: integer('MAX_INLINE_IMAGE_BYTES', 0, 1024 ** 3, 8 * 1024 * 1024),
  METRICS_MAX_OPERATION_NAMES: integer('METRICS_MAX_OPERATION_NAMES', 0, 10_000, 100),
  SHUTDOWN_GRACE_MS: integer('SHUTDOWN_GRACE_MS', 0, 3_600_000, 30_000),
  PROGRESS_PAGE: flag('PROGRESS_PAGE'),
  NODE_ENV: z.string().optional(),
  GRAPHIQL: flag('GRAPHIQL'),
  INTROSPECTION: flag('INTROSPECTION'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

/** A host name, a `*.` wildcard over its subdomains, or an origin with its scheme (and port). */
const IMAGE_HOST = /^(?:\*\.)?[a-z0-9.-]+$|^https?:\/\/[a-z0-9.-]+(?::\d{1,5})?$/i;

/**
 * The largest image an answer may carry when no limit is set: an uncompressed 8-bit RGB picture of the largest side
 * allowed, plus 1 MiB of headers and metadata. No real JPEG, PNG or WebP of that size comes near it.
 */
export function defaultMaxImageBytes(maxSide: number): number {
  return maxSide * maxSide * 3 + 1024 * 1024;
}

/** Parses the environment into a Config. Throws a ConfigError naming every bad variable and what it accepts. */
export function parseConfig(environment: Record<string, string | undefined>): Config {
  // An empty variable counts as unset, so `PORT=` in a .env file falls back to the default.
  const cleaned = Object.fromEntries(
    Object.entries(environment).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const parsed = environmentSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? '');
      return issue.message.startsWith(variable) ? issue.message : `${variable}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const env = parsed.data;

  if (env.IMAGE_MIN_SIDE > env.IMAGE_MAX_SIDE) {
    throw new ConfigError(
      `Invalid configuration:\n  IMAGE_MIN_SIDE (${env.IMAGE_MIN_SIDE}) must not exceed IMAGE_MAX_SIDE (${env.IMAGE_MAX_SIDE})`,
    );
  }
  const provider = env.IMAGE_PROVIDER ?? (env.TOGETHER_API_KEY ? 'together' : 'local');
  if (provider === 'together' && !env.TOGETHER_API_KEY) {
    throw new ConfigError('Invalid configuration:\n  IMAGE_PROVIDER=together needs TOGETHER_API_KEY to be set');
  }
  const production = env.NODE_ENV === 'production';
  const list = (value: string | undefined) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
  const apiTokens = list(env.API_TOKENS);
  const imageHosts = list(env.TOGETHER_IMAGE_HOSTS);
  const badHost = imageHosts.find((host) => !IMAGE_HOST.test(host));
  if (badHost !== undefined) {
    throw new ConfigError(
      `Invalid configuration:\n  TOGETHER_IMAGE_HOSTS: "${badHost}" is neither a host name (api.together.ai, *.together.ai) nor an origin (http://127.0.0.1:8080)`,
    );
  }

  return {
    port: env.PORT,
    host: env.HOST,
    provider,
    together: {
      apiKey: env.TOGETHER_API_KEY,
      baseUrl: env.TOGETHER_BASE_URL.replace(/\/+$/, ''),
      model: env.IMAGE_MODEL,
      steps: env.IMAGE_STEPS,
      imageHosts,
      maxImageBytes: env.UPSTREAM_MAX_IMAGE_BYTES || defaultMaxImageBytes(env.IMAGE_MAX_SIDE),
    },
    images: {
      minSide: env.IMAGE_MIN_SIDE,
      maxSide: env.IMAGE_MAX_SIDE,
      maxPromptLength: env.MAX_PROMPT_LENGTH,
      maxBatchSize: env.MAX_BATCH_SIZE,
    },
    generation: {
      concurrency: env.GENERATION_CONCURRENCY,
      maxAttempts: env.GENERATION_MAX_ATTEMPTS,
      upstreamTimeoutMs: env.UPSTREAM_TIMEOUT_MS,
      rateLimitMaxWaitMs: env.RATE_LIMIT_MAX_WAIT_MS,
    },
    jobs: {
      retentionMs: env.JOB_RETENTION_MS,
      maxRetained: env.JOB_MAX_RETAINED,
      maxRetainedBytes: env.JOB_MAX_RETAINED_BYTES,
      subscribeWaitMs: env.SUBSCRIBE_WAIT_MS,
    },
    apiTokens,
    redisUrl: env.REDIS_URL,
    security: {
      quotaImagesPerMinute: env.QUOTA_IMAGES_PER_MINUTE,
      maxBodyBytes: env.MAX_BODY_BYTES,
      allowedOrigins: list(env.WS_ALLOWED_ORIGINS),
      maxWebSocketConnections: env.WS_MAX_CONNECTIONS,
      maxPendingWebSocketConnections: env.WS_MAX_PENDING_CONNECTIONS,
      webSocketInitTimeoutMs: env.WS_INIT_TIMEOUT_MS,
      maxSubscriptionsPerConnection: env.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxSseConnections: env.SSE_MAX_CONNECTIONS,
      maxConnectionsPerClient: env.MAX_CONNECTIONS_PER_CLIENT,
      maxWaitingSubscriptionsPerClient: env.MAX_WAITING_SUBSCRIPTIONS_PER_CLIENT,
      maxInlineImageBytes: env.MAX_INLINE_IMAGE_BYTES,
      maxMetricsOperationNames: env.METRICS_MAX_OPERATION_NAMES,
    },
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    progressPage: env.PROGRESS_PAGE ?? !production,
    production,
    graphiql: env.GRAPHIQL ?? !production,
    introspection: env.INTROSPECTION ?? !production,
    logLevel: env.LOG_LEVEL,
  };
}

/** Reads `.env` from the working directory (without overriding real variables), then parses process.env. */
export function loadConfig(): Config {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return parseConfig(process.env);
}
