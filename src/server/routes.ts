import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller } from './access-control.js';

/**
 * An HTTP route beside /graphql (the progress page, /metrics, ...). It answers true when it handled the request;
 * the server tries each in order before handing the request to GraphQL. Routes behind the access check are told who
 * is asking; open routes are not.
 */
export type Route = (request: IncomingMessage, response: ServerResponse, caller?: Caller) => boolean | Promise<boolean>;

/** Matches a path exactly, ignoring the query string. */
export function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
