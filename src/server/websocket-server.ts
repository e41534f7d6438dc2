import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type DocumentNode } from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import type { Logger } from '../logger.js';
import { requestContext } from '../request-context.js';
import type { GraphQLContext } from '../schema/index.js';
import type { AccessControl } from './access-control.js';
import { ConnectionBudget, type ConnectionLease, ConnectionPool } from './connection-budget.js';
import type { ServerContext } from './http-handler.js';
import { pathOf } from './routes.js';

interface EnvelopedExecutors {
  execute: (args: unknown) => unknown;
  subscribe: (args: unknown) => unknown;
  requestId: string;
}

export interface WebSocketLimits {
  /** Origins allowed to open a connection; empty allows any. A request without Origin (not a browser) is let in. */
  allowedOrigins: readonly string[];
  /** Authenticated connections (connection_init accepted, or a valid token in the upgrade request). */
  maxConnections: number;
  /**
   * Connections that have not authenticated yet, in a pool of their own: when it is full, the oldest is closed to
   * make room, so sockets that never send connection_init cannot keep a real client out. Default 128.
   */
  maxPendingConnections?: number;
  /** Places per client (owner) across WebSocket and SSE; shared with the HTTP handler's SSE streams. */
  budget?: ConnectionBudget;
  /** Operations in flight at once on one connection. */
  maxSubscriptionsPerConnection: number;
  /** Largest message accepted; a bigger one closes the connection (1009). Default 64 KiB. */
  maxPayloadBytes?: number;
  /** How long a connection may take to send connection_init. Default 3 s. */
  connectionInitWaitTimeoutMs?: number;
  /** Ping interval; a socket that has not answered the previous ping by the next one is terminated. Default 30 s. */
  keepAliveMs?: number;
  /** Bytes queued for a slow reader before its connection is closed (1013). Default 16 MiB. */
  maxBufferedBytes?: number;
  /** On close, how long operations in flight may take to deliver their last results (a job's final event). Default 3 s. */
  closeFlushMs?: number;
}

export interface WebSocketServerOptions extends WebSocketLimits {
  yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  access: AccessControl;
  logger: Logger;
  path?: string;
}

export interface GraphQLWebSocketServer {
  /**
   * Stops accepting connections, lets operations in flight deliver what they still have (up to `closeFlushMs`), then
   * closes every connection with `code` (1001 when the server is going away).
   */
  close(code: number, reason: string): Promise<void>;
  /** Connections open or in their opening handshake. */
  readonly connectionCount: number;
}

/** What graphql-ws keeps per connection, beyond its own state. */
type ConnectionExtra = {
  socket: WebSocket;
  request: IncomingMessage;
  owner?: string;
  tenant?: string;
};

const TRY_AGAIN_LATER = 1013;
/** How long a new socket is sure to keep its place in a full pending pool: ample for one connection_init. */
const PENDING_GRACE_MS = 1000;

/**
 * graphql-ws on the same port and path as HTTP, running each operation through Yoga's envelop so the same plugins
 * (masking, validation rules, armor, quota) apply on both transports. The upgrade is refused before a WebSocket
 * exists for a foreign Origin (403) or when the authenticated pool is full (503); a connection without a valid token
 * is closed with 4403 at connection_init, before any operation can run.
 *
 * Two pools keep sockets that never authenticate from shutting anyone out: a new socket waits in the small pending
 * pool for at most `connectionInitWaitTimeoutMs`. When the pool is full, its oldest socket is closed to make room if
 * it has had its fair chance (PENDING_GRACE_MS) to send connection_init; otherwise the newcomer is refused with 503,
 * so a flood can delay a client but never close it in the moment before its connection_init arrives. Only an
 * authenticated one takes a place in the main pool and in its client's budget. A valid token in the upgrade request
 * authenticates the socket at once.
 */
export function attachWebSocketServer(server: Server, options: WebSocketServerOptions): GraphQLWebSocketServer {
  const { yoga, access, logger, maxSubscriptionsPerConnection } = options;
  const path = options.path ?? '/graphql';
  const maxBufferedBytes = options.maxBufferedBytes ?? 16 * 1024 * 1024;
  const allowedOrigins = new Set(options.allowedOrigins.map(normalizeOrigin));
  const webSockets = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? 64 * 1024 });
  const authenticated = new ConnectionPool('WebSocket connections', options.maxConnections);
  const budget = options.budget ?? new ConnectionBudget(Number.POSITIVE_INFINITY);
  const maxPending = options.maxPendingConnections ?? 128;
  /** Sockets not authenticated yet and when they came, oldest first (a Map keeps insertion order). */
  const pending = new Map<Duplex, number>();
  /** The place each authenticated socket holds. */
  const leases = new WeakMap<Duplex, { owner: string; lease: ConnectionLease }>();
  let closing: { code: number; reason: string } | undefined;
  /** graphql-ws's state of every accepted connection: its operations in flight, for a clean close. */
  const accepted = new Set<Context<Record<string, unknown> | undefined, ConnectionExtra>>();
  const idle = (context: Context<Record<string, unknown> | undefined, ConnectionExtra>, finishing?: string) =>
    Object.keys(context.subscriptions).every((id) => id === finishing);

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(request) !== path) return refuseUpgrade(socket, 404, 'Not Found');
    if (closing) return refuseUpgrade(socket, 503, 'Server shutting down');
    const origin = request.headers.origin;
    if (allowedOrigins.size > 0 && origin !== undefined && !allowedOrigins.has(normalizeOrigin(origin))) {
      logger.info({ origin }, 'WebSocket refused: origin not allowed');
      return refuseUpgrade(socket, 403, 'Origin not allowed');
    }
    if (authenticated.count >= authenticated.max) {
      logger.warn({ maxConnections: authenticated.max }, 'WebSocket refused: connection limit reached');
      return refuseUpgrade(socket, 503, 'Too many connections');
    }
    const byHeader = access.enabled && request.headers.authorization ? access.authorize(request) : undefined;
    if (byHeader && !('status' in byHeader)) {
      const refusal = admit(socket, byHeader.owner);
      if (refusal) return refuseUpgrade(socket, 429, refusal);
    } else {
      if (pending.size >= maxPending) {
        const [oldest, since] = pending.entries().next().value ?? [];
        if (!oldest || since === undefined || performance.now() - since < PENDING_GRACE_MS) {
          // Debug only: under a flood these come by the thousand, and logging each would be the next bottleneck.
          logger.debug({ maxPending }, 'WebSocket refused: too many connections waiting to authenticate');
          return refuseUpgrade(socket, 503, 'Too many connections waiting to authenticate');
        }
        pending.delete(oldest);
        logger.debug({ maxPending }, 'WebSocket closed: pending pool full, making room for a newer one');
        oldest.destroy();
      }
      pending.set(socket, performance.now());
    }
    socket.once('close', () => {
      pending.delete(socket);
      leases.get(socket)?.lease.release();
    });
    webSockets.handleUpgrade(request, socket, head, (webSocket) => {
      webSockets.emit('connection', webSocket, request);
    });
  };

  /** Moves a socket into the authenticated pool under `owner`; answers why not when its client has no place left. */
  const admit = (socket: Duplex, owner: string): string | undefined => {
    const held = leases.get(socket);
    if (held?.owner === owner) return undefined;
    const lease = budget.take(owner, authenticated);
    if ('refused' in lease) {
      logger.warn({ owner }, `WebSocket refused: ${lease.refused}`);
      return lease.refused;
    }
    held?.lease.release();
    pending.delete(socket);
    leases.set(socket, { owner, lease });
    return undefined;
  };
  server.on('upgrade', onUpgrade);

  // Before graphql-ws's own listener, so every message it sends goes through the guard.
  webSockets.on('connection', (webSocket: WebSocket) => {
    guardSlowReader(webSocket, maxBufferedBytes, logger);
    logProtocolErrors(webSocket, logger);
  });

  useServer<Record<string, unknown> | undefined, ConnectionExtra>(
    {
      isProd: true,
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs ?? 3000,
      onConnect: (context) => {
        const decision = access.authorizeCredential(context.connectionParams?.authorization, context.extra.request);
        if ('status' in decision) {
          logger.info({ reason: decision.message }, 'WebSocket refused: not authenticated');
          return false;
        }
        const refusal = admit(context.extra.request.socket, decision.owner);
        if (refusal) {
          // graphql-ws would close with 4403 Forbidden; "try again later" is what this is.
          context.extra.socket.close(TRY_AGAIN_LATER, 'Too many connections');
          return false;
        }
        context.extra.owner = decision.owner;
        context.extra.tenant = decision.tenant;
        accepted.add(context);
        return true;
      },
      onClose: (context) => {
        accepted.delete(context);
      },
      onComplete: (context, id) => {
        // While closing, a connection goes as soon as its last operation has sent its complete message (which
        // graphql-ws sends right after this hook), before the client would close it itself.
        if (closing && idle(context, id)) {
          const { code, reason } = closing;
          setImmediate(() => context.extra.socket.close(code, reason));
        }
      },
      execute: (args) => {
        const root = args.rootValue as EnvelopedExecutors;
        return requestContext.run({ requestId: root.requestId }, () => root.execute(args)) as never;
      },
      subscribe: (args) => {
        const root = args.rootValue as EnvelopedExecutors;
        return requestContext.run({ requestId: root.requestId }, () => root.subscribe(args)) as never;
      },
      onSubscribe: async (context, _id, payload) => {
        // graphql-ws has registered this operation already, so the count includes it.
        if (Object.keys(context.subscriptions).length > maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(
              `Too many operations on this connection: at most ${maxSubscriptionsPerConnection} may run at once; complete one first.`,
              { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } },
            ),
          ];
        }
        // Only what the context needs: connectionParams (which may hold the token) stay out of the GraphQL context.
        const enveloped = yoga.getEnveloped({
          req: context.extra.request,
          socket: context.extra.socket,
          owner: context.extra.owner,
          tenant: context.extra.tenant,
          params: payload,
        });
        let document: DocumentNode;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length) return [...errors];
        return {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          // Each operation on a socket is a request of its own for the logs.
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe, requestId: randomUUID() },
        };
      },
    },
    webSockets,
    options.keepAliveMs ?? 30_000,
  );

  return {
    get connectionCount() {
      return authenticated.count + pending.size;
    },
    async close(code, reason) {
      // The upgrade listener stays: without one, Node would hand upgrade requests to the HTTP handler.
      closing = { code, reason };
      const deadline = Date.now() + (options.closeFlushMs ?? 3000);
      const closeIdle = () => {
        for (const context of accepted) if (idle(context)) context.extra.socket.close(code, reason);
      };
      closeIdle();
      while (accepted.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        closeIdle();
      }
      for (const socket of webSockets.clients) socket.close(code, reason);
      await new Promise<void>((resolve) => webSockets.close(() => resolve()));
    },
  };
}

/**
 * A reader that does not keep up would make the server queue every event for it. Once more than `maxBufferedBytes`
 * wait in its send buffer, further messages are dropped (their send never completes, so the operations sending them
 * stall instead of producing more) and the connection is closed with 1013 "Try again later". The close frame queues
 * behind the backlog, so the socket is destroyed a second later if the reader has not caught up by then.
 */
function guardSlowReader(webSocket: WebSocket, maxBufferedBytes: number, logger: Logger): void {
  const send = webSocket.send.bind(webSocket) as (data: unknown, ...rest: unknown[]) => void;
  let overloaded = false;
  webSocket.send = ((data: unknown, ...rest: unknown[]) => {
    if (!overloaded && webSocket.bufferedAmount <= maxBufferedBytes) return send(data, ...rest);
    if (overloaded) return;
    overloaded = true;
    logger.warn({ bufferedAmount: webSocket.bufferedAmount }, 'WebSocket closed: the client does not read fast enough');
    webSocket.close(TRY_AGAIN_LATER, 'Try again later');
    setTimeout(() => webSocket.terminate(), 1000).unref();
  }) as typeof webSocket.send;
}

/**
 * A client that breaks the protocol (an oversized or malformed frame) makes ws close the connection with the right
 * code (1009, 1002...) and then emit 'error'. That is the client's mistake, not the server's: it is logged here, once,
 * instead of reaching graphql-ws's handler, which would print it to stderr as an internal error.
 */
function logProtocolErrors(webSocket: WebSocket, logger: Logger): void {
  const emit = webSocket.emit.bind(webSocket) as (event: string | symbol, ...args: unknown[]) => boolean;
  webSocket.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event !== 'error') return emit(event, ...args);
    const error = args[0] as (Error & { code?: string }) | undefined;
    logger.info({ code: error?.code, reason: error?.message }, 'WebSocket closed: protocol error from the client');
    return true;
  }) as typeof webSocket.emit;
}

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin.toLowerCase();
  } catch {
    return origin.trim().toLowerCase();
  }
}
