import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { Config } from './config.js';
import { createGenerationService } from './generation/create-generation-service.js';
import type { GenerationService } from './generation/generation-service.js';
import { createJobs } from './jobs/create-jobs.js';
import type { JobManager } from './jobs/job-manager.js';
import { connectRedisMode } from './jobs/redis-mode.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics/metrics.js';
import { createProvider } from './providers/create-provider.js';
import type { ImageProvider } from './providers/types.js';
import { buildSchema, type GraphQLContext } from './schema/index.js';
import { addressOwner, createAccessControl, LOCAL_TENANT } from './server/access-control.js';
import { ConnectionBudget, ConnectionPool } from './server/connection-budget.js';
import { GRAPHIQL_DEFAULT_QUERY } from './server/graphiql.js';
import { hardeningPlugins } from './server/hardening.js';
import { createImageRoute } from './server/image-route.js';
import { createHttpHandler, httpCaller, type ServerContext } from './server/http-handler.js';
import { type ImageQuota, MemoryImageQuota } from './server/image-quota.js';
import { useImageQuota } from './server/quota-plugin.js';
import { RedisImageQuota } from './server/redis-image-quota.js';
import { useSharedSubscriptionExecution } from './server/shared-subscription-execution.js';
import { useValidationCache } from './server/validation-cache.js';
import { pathOf, type Route } from './server/routes.js';
import { createSseModeRoute } from './server/sse-modes.js';
import { attachWebSocketServer } from './server/websocket-server.js';
import { createProgressPageRoute } from './web/progress-page-route.js';

export interface AppOverrides {
  logger?: Logger;
  provider?: ImageProvider;
  /** Extra HTTP routes, tried after /ready and the access check, before GraphQL. */
  routes?: Route[];
  /** Redis key prefix (default "wi"), so that tests sharing one Redis keep apart. */
  redisPrefix?: string;
}

export interface App {
  /** Listens on the configured host and port; answers the GraphQL URL. */
  start(): Promise<string>;
  /** Stops taking work, lets running jobs finish for up to `graceMs`, then closes every connection. */
  stop(options?: { graceMs?: number }): Promise<void>;
  readonly url: string;
  readonly server: Server;
  readonly jobs: JobManager;
  readonly service: GenerationService;
  readonly logger: Logger;
  /** WebSocket connections open or being opened right now. */
  readonly webSocketConnections: number;
}

/** Builds the whole server from a configuration: provider, generation service, jobs, schema and transports. */
export function buildApp(config: Config, overrides: AppOverrides = {}): App {
  const logger =
    overrides.logger ??
    createLogger({ level: config.logLevel, secrets: [config.together.apiKey ?? '', ...config.apiTokens] });
  const provider = overrides.provider ?? createProvider(config, logger);
  // The gauges read the service and the jobs when scraped; both exist by then.
  const metrics = createMetrics({
    inFlight: () => service.inFlight,
    runningJobs: () => jobs.runningCount,
    upstreamLimits: () => service.upstreamLimits,
    maxOperationNames: config.security.maxMetricsOperationNames,
  });
  // With REDIS_URL, replicas share jobs, images and the upstream key's budget (one limiter state in Redis).
  const redisParts = config.redisUrl
    ? connectRedisMode({
        url: config.redisUrl,
        logger,
        retentionMs: config.jobs.retentionMs,
        maxRetained: config.jobs.maxRetained,
        maxRetainedBytes: config.jobs.maxRetainedBytes,
        concurrency: config.generation.concurrency,
        upstreamTimeoutMs: config.generation.upstreamTimeoutMs,
        observer: metrics.observer,
        ...(overrides.redisPrefix ? { prefix: overrides.redisPrefix } : {}),
      })
    : undefined;
  const service = createGenerationService(config, provider, logger, metrics.observer, redisParts?.budget);
  const redis = redisParts?.build(service);
  const { jobs, close: closeJobs } = createJobs(config, service, logger, metrics.observer, redis);
  const schema = buildSchema(config.images, { maxInlineImageBytes: config.security.maxInlineImageBytes });

  const access = createAccessControl(config.apiTokens);
  // One budget per client over WebSocket and SSE together, so neither transport is a way around the other's cap.
  const connectionBudget = new ConnectionBudget(config.security.maxConnectionsPerClient);
  const sseStreams = new ConnectionPool('SSE streams', config.security.maxSseConnections);
  // One count per owner across every replica with REDIS_URL; per process without.
  const quota: ImageQuota = redisParts
    ? new RedisImageQuota({
        redis: redisParts.commands,
        prefix: redisParts.prefix,
        imagesPerMinute: config.security.quotaImagesPerMinute,
      })
    : new MemoryImageQuota(config.security.quotaImagesPerMinute);
  const plugins: Plugin[] = [
    useValidationCache(),
    ...hardeningPlugins({ introspection: config.introspection, maxBatchSize: config.images.maxBatchSize }),
    useImageQuota({ quota, maxBatchSize: config.images.maxBatchSize }),
    metrics.yogaPlugin,
    // Progress fan-out: one execution per event and selection, whatever the number of subscribers.
    useSharedSubscriptionExecution(),
  ];
  if (!config.introspection) {
    plugins.push({ onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule) });
  }

  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    graphiql: config.graphiql
      ? { title: 'worksheet-images', subscriptionsProtocol: 'WS', defaultQuery: GRAPHIQL_DEFAULT_QUERY }
      : false,
    renderGraphiQL,
    maskedErrors: true,
    logging: {
      debug: (...args: unknown[]) => logger.debug({ args }, 'yoga'),
      info: (...args: unknown[]) => logger.info({ args }, 'yoga'),
      warn: (...args: unknown[]) => logger.warn({ args }, 'yoga'),
      error: (...args: unknown[]) => logger.error({ args }, 'yoga'),
    },
    // Array batching stays off: one operation per request, so every limit above applies to each.
    batching: false,
    // The HTTP handler has already read the body within MAX_BODY_BYTES (413 beyond it) before Yoga sees the request;
    // Yoga's own limit would pipe that buffer through a second stream and rebuild the Request for nothing.
    maxRequestBodySize: false,
    // Parsed documents stay cached by Yoga; validation results are cached by useValidationCache above instead.
    parserAndValidationCache: { validationCache: false },
    // Every request that reaches GraphQL has passed the access check, which named its tenant; /health runs nothing.
    context: ({ req, owner, tenant }) => {
      const caller = owner === undefined ? httpCaller(req) : { owner, tenant };
      return {
        jobs,
        service,
        owner: caller?.owner ?? addressOwner(req),
        tenant: caller?.tenant ?? (access.enabled ? 'unauthenticated' : LOCAL_TENANT),
      };
    },
    plugins,
  });

  let ready = false;
  const readiness: Route = (req, res) => {
    if (pathOf(req) !== '/ready') return false;
    // Without Redis a replica can do nothing useful: the load balancer sends its traffic elsewhere until it is back.
    const accepting = ready && jobs.isAccepting && (redis?.healthy ?? true);
    res.writeHead(accepting ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ready: accepting }));
    return true;
  };
  const metricsRoute: Route = (req, res) => pathOf(req) === '/metrics' && metrics.handle(req, res).then(() => true);
  // The page is static files; what it does goes through /graphql, which the access check guards.
  const pageRoutes = config.progressPage ? [createProgressPageRoute({ graphqlPath: '/graphql' })] : [];
  const server = createServer(
    createHttpHandler({
      yoga,
      access,
      maxBodyBytes: config.security.maxBodyBytes,
      logger,
      openRoutes: [readiness, ...pageRoutes],
      protectedRoutes: [
        metricsRoute,
        createImageRoute(jobs),
        createSseModeRoute('/graphql'),
        ...(overrides.routes ?? []),
      ],
      streams: { budget: connectionBudget, pool: sseStreams },
    }),
  );
  // A client must send its whole request (headers and body) promptly; slow senders do not hold sockets for minutes.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;

  const webSockets = attachWebSocketServer(server, {
    yoga,
    access,
    logger,
    allowedOrigins: config.security.allowedOrigins,
    maxConnections: config.security.maxWebSocketConnections,
    maxPendingConnections: config.security.maxPendingWebSocketConnections,
    connectionInitWaitTimeoutMs: config.security.webSocketInitTimeoutMs,
    maxSubscriptionsPerConnection: config.security.maxSubscriptionsPerConnection,
    budget: connectionBudget,
  });

  let url = '';
  return {
    get url() {
      return url;
    },
    get webSocketConnections() {
      return webSockets.connectionCount;
    },
    server,
    jobs,
    service,
    logger,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const { port } = server.address() as AddressInfo;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      url = `http://${host}:${port}/graphql`;
      // Waits for Redis in the background: the replica answers /ready 503 until Redis does.
      redis?.start().catch((error: unknown) => logger.error({ err: error }, 'shared mode failed to start'));
      ready = true;
      return url;
    },
    async stop({ graceMs = config.shutdownGraceMs } = {}) {
      ready = false;
      await jobs.drain(graceMs);
      await webSockets.close(1001, 'Server shutting down');
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
      await closeJobs();
      await redis?.close();
      await provider.close();
    },
  };
}
