import type { IncomingMessage, ServerResponse } from 'node:http';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import { requestContext, requestIdFrom } from '../request-context.js';
import type { GraphQLContext } from '../schema/index.js';
import { type Caller, sendUnauthorized, type AccessControl } from './access-control.js';
import type { ConnectionBudget, ConnectionPool } from './connection-budget.js';
import { readBodyWithin } from './request-body-limit.js';
import { pathOf, type Route } from './routes.js';

/** What Node's adapter gives Yoga with every request: the raw request, and who is asking. */
export interface ServerContext {
  req: IncomingMessage;
  /** Set by the connection's onConnect for WebSocket; for HTTP, see httpCaller. */
  owner?: string;
  /** Whose jobs the caller sees; set with `owner`. */
  tenant?: string;
}

export interface HttpHandlerOptions {
  yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  access: AccessControl;
  maxBodyBytes: number;
  logger: Logger;
  /** Tried first, without a token: the probes (`/ready`). `/health` is Yoga's own and open too. */
  openRoutes?: Route[];
  /** Tried after the token check, before GraphQL: `/metrics`, the progress page. */
  protectedRoutes?: Route[];
  /** SSE streams take a place in the caller's connection budget for as long as they are open. */
  streams?: { budget: ConnectionBudget; pool: ConnectionPool };
}

const OPEN_YOGA_PATHS = new Set(['/health']);

/**
 * Who the access check found behind each HTTP request, for Yoga's context factory (app.ts). Not passed to Yoga as a
 * third argument: its Node adapter merges such an argument into the server context property by property, with
 * descriptors, on every request (a few percent of the server's CPU under load).
 */
const callers = new WeakMap<IncomingMessage, Caller>();

/** The caller the access check named for this HTTP request; undefined for /health and WebSocket upgrades. */
export function httpCaller(request: IncomingMessage): Caller | undefined {
  return callers.get(request);
}

/**
 * The HTTP front door: probes stay open; everything else needs a valid bearer token when tokens are configured
 * (CORS preflights excepted: a browser sends them without credentials, and they run nothing); request bodies are
 * held to `maxBodyBytes`; then Yoga answers with the caller's owner name in its context.
 */
export function createHttpHandler(
  options: HttpHandlerOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const { yoga, access, maxBodyBytes, logger, openRoutes = [], protectedRoutes = [], streams } = options;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    // A route that says "not mine" says so with a plain false; only a promise is awaited (each await of a plain value
    // would still be a trip through the microtask queue, several per request).
    for (const route of openRoutes) {
      const answer = route(request, response);
      if (answer === true || (answer !== false && (await answer))) return;
    }
    // This is the only body limit (Yoga's own is off): every request that reaches Yoga passes through it first.
    if (OPEN_YOGA_PATHS.has(pathOf(request))) {
      if (await readBodyWithin(request, response, maxBodyBytes)) await yoga(request, response);
      return;
    }

    const decision =
      request.method === 'OPTIONS' ? { owner: 'preflight', tenant: 'preflight' } : access.authorize(request);
    if ('status' in decision) {
      logger.debug({ path: pathOf(request), method: request.method }, decision.message);
      return sendUnauthorized(response, decision.message);
    }
    for (const route of protectedRoutes) {
      const answer = route(request, response, decision);
      if (answer === true || (answer !== false && (await answer))) return;
    }
    if (streams && wantsEventStream(request)) {
      const lease = streams.budget.take(decision.owner, streams.pool);
      if ('refused' in lease) {
        logger.warn({ owner: decision.owner }, `SSE refused: ${lease.refused}`);
        return sendTooManyConnections(response, lease.refused);
      }
      response.once('close', lease.release);
    }
    if (!(await readBodyWithin(request, response, maxBodyBytes))) return;
    callers.set(request, decision);
    await yoga(request, response);
  };

  return (request, response) => {
    const requestId = requestIdFrom(request.headers['x-request-id']);
    response.setHeader('x-request-id', requestId);
    requestContext
      .run({ requestId }, () => handle(request, response))
      .catch((error: unknown) => {
        logger.error({ err: error, path: pathOf(request) }, 'request failed');
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        response.end(
          JSON.stringify({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }),
        );
      });
  };
}

/** An SSE request (Yoga's and graphql-sse's distinct-connections mode): it may stay open as long as its stream. */
function wantsEventStream(request: IncomingMessage): boolean {
  return String(request.headers.accept ?? '').includes('text/event-stream');
}

function sendTooManyConnections(response: ServerResponse, message: string): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code: 'TOO_MANY_CONNECTIONS' } }] });
  response.writeHead(429, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'retry-after': '5',
  });
  response.end(body);
}
