import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { GraphQLRequestError, GraphQLTransportError, isGraphQLErrorList } from './client-errors.js';
import { operationText } from './document-text.js';

export { operationText };

export interface HttpExecutorOptions {
  /** The GraphQL endpoint, e.g. https://example.org/graphql. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  fetchImpl?: typeof fetch;
}

/** Runs one typed operation over HTTP and answers its data, or throws GraphQLRequestError / GraphQLTransportError. */
export type GraphQLExecutor = <TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  options?: { signal?: AbortSignal },
) => Promise<TResult>;

export function createHttpExecutor(options: HttpExecutorOptions): GraphQLExecutor {
  const fetchImpl = fetchOf(options.fetchImpl);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
  };
  if (options.token) headers.authorization = `Bearer ${options.token}`;

  return async function execute<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<TResult> {
    const { query, operationName } = operationText(document);
    let response: Response;
    try {
      response = await fetchImpl(options.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables, operationName }),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new GraphQLTransportError(`Could not reach the GraphQL server at ${options.url}`, { cause: error });
    }

    let body: { data?: unknown; errors?: unknown };
    try {
      body = (await response.json()) as typeof body;
    } catch (error) {
      throw new GraphQLTransportError(`The GraphQL server answered HTTP ${response.status} without a JSON body`, {
        status: response.status,
        cause: error,
      });
    }
    if (isGraphQLErrorList(body.errors)) throw new GraphQLRequestError(body.errors);
    if (!response.ok || body.data === undefined || body.data === null) {
      throw new GraphQLTransportError(`The GraphQL server answered HTTP ${response.status} without data`, {
        status: response.status,
      });
    }
    return body.data as TResult;
  };
}

/** The given fetch, or the global one: a browser's fetch must be called unbound from window. */
export function fetchOf(fetchImpl: typeof fetch | undefined): typeof fetch {
  return fetchImpl ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
}
