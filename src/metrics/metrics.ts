import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { GenerationObserver } from '../generation/generation-observer.js';
import { createGenerationMetrics } from './generation-metrics.js';
import { createGraphQLMetricsPlugin } from './graphql-metrics.js';
import { serveMetrics } from './serve-metrics.js';

export interface MetricsOptions {
  /** Upstream requests in flight right now; read on every scrape. */
  inFlight: () => number;
  /** Jobs running right now; read on every scrape. */
  runningJobs: () => number;
  /** The upstream limiter's concurrency limit and learned rate; read on every scrape. */
  upstreamLimits?: () => { concurrency: number; ratePerSecond: number | null };
  /** Prefix of the service's own metric names. Default `worksheet_images_`. */
  prefix?: string;
  /** Distinct GraphQL operation names kept as labels; later ones are counted as "other". Default 100. */
  maxOperationNames?: number;
}

export interface Metrics {
  /** Hand to the generation service and the job manager. */
  observer: GenerationObserver;
  /** Add to Yoga's plugins: GraphQL parse, validate, execute and HTTP timings and operation counts. */
  yogaPlugin: Plugin;
  /** Serves the registry in the Prometheus text format; route `/metrics` here. */
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** Everything above and the process metrics, in one registry of this instance's own. */
  registry: Registry;
}

export const DEFAULT_METRICS_PREFIX = 'worksheet_images_';

const METRIC_NAME_PREFIX = /^(?:[a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

/**
 * The operator's view of one server. Each call has a registry of its own, so several servers in one process
 * never collide in prom-client's global registry.
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const { inFlight, runningJobs, upstreamLimits, prefix = DEFAULT_METRICS_PREFIX } = options;
  if (typeof inFlight !== 'function') {
    throw new TypeError('inFlight must be a function that returns the number of upstream requests in flight');
  }
  if (typeof runningJobs !== 'function') {
    throw new TypeError('runningJobs must be a function that returns the number of running jobs');
  }
  if (typeof prefix !== 'string' || !METRIC_NAME_PREFIX.test(prefix)) {
    throw new TypeError(
      `prefix must be empty or start a Prometheus metric name (letters, digits, _ and :, not a digit first), got ${JSON.stringify(prefix)}`,
    );
  }

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  return {
    observer: createGenerationMetrics({
      registry,
      prefix,
      inFlight,
      runningJobs,
      ...(upstreamLimits ? { upstreamLimits } : {}),
    }),
    yogaPlugin: createGraphQLMetricsPlugin(registry, options.maxOperationNames),
    handle: (request, response) => serveMetrics(registry, request, response),
    registry,
  };
}
