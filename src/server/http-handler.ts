import type { IncomingMessage, ServerResponse } from 'node:http';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import { requestContext, requestIdFrom } from '../request-context.js';
import type { GraphQLContext } from '../schema/index.js';
import { sendUnauthorized, type AccessControl } from './access-control.js';
import { readBodyWithin } from './request-body-limit.js';
import { pathOf, type Route } from './routes.js';

/** What Node's adapter gives Yoga with every request: the raw request, and who is asking. */
export interface ServerContext {
  req: IncomingMessage;
  /** Set by the access check for HTTP, by the connection's onConnect for WebSocket. */
  owner?: string;
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
}

const OPEN_YOGA_PATHS = new Set(['/health']);

/**
 * The HTTP front door: probes stay open; everything else needs a valid bearer token when tokens are configured
 * (CORS preflights excepted: a browser sends them without credentials, and they run nothing); request bodies are
 * held to `maxBodyBytes`; then Yoga answers with the caller's owner name in its context.
 */
export function createHttpHandler(
  options: HttpHandlerOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const { yoga, access, maxBodyBytes, logger, openRoutes = [], protectedRoutes = [] } = options;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    for (const route of openRoutes) if (await route(request, response)) return;
    if (OPEN_YOGA_PATHS.has(pathOf(request))) return void (await yoga(request, response, {}));

    const decision = request.method === 'OPTIONS' ? { owner: 'preflight' } : access.authorize(request);
    if ('status' in decision) {
      logger.debug({ path: pathOf(request), method: request.method }, decision.message);
      return sendUnauthorized(response, decision.message);
    }
    for (const route of protectedRoutes) if (await route(request, response)) return;
    if (!(await readBodyWithin(request, response, maxBodyBytes))) return;
    await yoga(request, response, { owner: decision.owner });
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
