import type { IncomingMessage, Server } from 'node:http';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { GraphQLContext } from '../schema/index.js';

interface EnvelopedExecutors {
  execute: (args: unknown) => unknown;
  subscribe: (args: unknown) => unknown;
}

export interface GraphQLWebSocketServer {
  /** Closes every connection with `code` (1001 when the server is going away) and stops accepting new ones. */
  close(code: number, reason: string): Promise<void>;
  readonly connectionCount: number;
}

/**
 * graphql-ws on the same port and path as HTTP, running each operation through Yoga's envelop so the same plugins
 * (masking, validation rules, armor) apply on both transports.
 */
export function attachWebSocketServer(
  server: Server,
  yoga: YogaServerInstance<{ req: IncomingMessage }, GraphQLContext>,
): GraphQLWebSocketServer {
  const webSockets = new WebSocketServer({ server, path: '/graphql' });
  useServer<Record<string, unknown> | undefined, { request: IncomingMessage }>(
    {
      execute: (args) => (args.rootValue as EnvelopedExecutors).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedExecutors).subscribe(args) as never,
      onSubscribe: async (context, _id, payload) => {
        const enveloped = yoga.getEnveloped({
          ...context,
          req: context.extra.request,
          socket: context.extra.socket,
          params: payload,
        });
        const args = {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document: enveloped.parse(payload.query),
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
        const errors = enveloped.validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    webSockets,
  );

  return {
    get connectionCount() {
      return webSockets.clients.size;
    },
    async close(code, reason) {
      for (const socket of webSockets.clients) socket.close(code, reason);
      await new Promise<void>((resolve) => webSockets.close(() => resolve()));
    },
  };
}
