import { pathOf, type Route } from './routes.js';

/** What graphql-sse's single connection mode sends with every request after its reservation. */
const STREAM_TOKEN_HEADER = 'x-graphql-event-stream-token';

export const SINGLE_CONNECTION_UNSUPPORTED =
  'GraphQL over SSE works here in distinct connections mode only (one POST or GET with Accept: text/event-stream per subscription); single connection mode (a PUT reservation, then x-graphql-event-stream-token) is not supported. graphql-sse: createClient({ singleConnection: false }), the default; urql: fetchExchange with fetchSubscriptions: true, or subscriptionExchange over graphql-sse with the default.';

/**
 * Answers graphql-sse's single connection mode with an error that names the mode that works, before the CSRF check
 * and Yoga would refuse its PUT with a bare 403 or 405. graphql-sse's client shows the status text
 * ("Server responded with 405: ..."), so the text says it too.
 */
export function createSseModeRoute(graphqlPath: string): Route {
  return (request, response) => {
    if (pathOf(request) !== graphqlPath) return false;
    const url = request.url ?? '/';
    const reservation = request.method === 'PUT';
    // An EventSource cannot send headers, so graphql-sse puts the token in the query of its stream request. Most
    // requests have no query at all: the URL is parsed only when there is one (this runs for every GraphQL request).
    const streamByQuery =
      url.includes('?') &&
      new URL(url, 'http://localhost').searchParams.has('token') &&
      (request.headers.accept ?? '').includes('text/event-stream');
    if (!reservation && request.headers[STREAM_TOKEN_HEADER] === undefined && !streamByQuery) return false;
    const status = reservation ? 405 : 400;
    response.writeHead(status, 'SSE single connection mode is not supported; use distinct connections mode', {
      'content-type': 'application/json; charset=utf-8',
      ...(reservation ? { allow: 'GET, POST, OPTIONS' } : {}),
    });
    response.end(
      JSON.stringify({
        errors: [{ message: SINGLE_CONNECTION_UNSUPPORTED, extensions: { code: 'SSE_SINGLE_CONNECTION_UNSUPPORTED' } }],
      }),
    );
    return true;
  };
}
