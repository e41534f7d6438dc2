import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

/** A GraphQL request over HTTP POST with fetch, as any front end sends it. */
export async function postGraphQL<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: GraphQLResponse<T>; headers: Headers; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as GraphQLResponse<T>, headers: response.headers, text };
}

/** Every text frame a graphql-ws client received, for asserting what crossed the wire. */
export interface RecordingWsClient {
  client: WsClient;
  frames: string[];
  closeEvents: Array<{ code: number; reason: string }>;
  dispose: () => Promise<void>;
}

export function createRecordingWsClient(url: string, connectionParams?: Record<string, unknown>): RecordingWsClient {
  const frames: string[] = [];
  const closeEvents: Array<{ code: number; reason: string }> = [];
  class RecordingWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      this.on('message', (data) => frames.push(String(data)));
      this.on('close', (code, reason) => closeEvents.push({ code, reason: String(reason) }));
    }
  }
  const client = createWsClient({
    url,
    webSocketImpl: RecordingWebSocket,
    lazy: true,
    retryAttempts: 0,
    ...(connectionParams ? { connectionParams } : {}),
  });
  return { client, frames, closeEvents, dispose: () => Promise.resolve(client.dispose()) };
}

/** Runs one subscription to its end and answers every result it received, or the error that ended it. */
export function collectSubscription<T = Record<string, unknown>>(
  client: WsClient,
  query: string,
  variables: Record<string, unknown>,
  onResult?: (result: GraphQLResponse<T>, all: Array<GraphQLResponse<T>>) => void,
): { done: Promise<{ results: Array<GraphQLResponse<T>>; error?: unknown }>; unsubscribe: () => void } {
  const results: Array<GraphQLResponse<T>> = [];
  let unsubscribe = () => {};
  const done = new Promise<{ results: Array<GraphQLResponse<T>>; error?: unknown }>((resolve) => {
    unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          results.push(result as GraphQLResponse<T>);
          onResult?.(result as GraphQLResponse<T>, results);
        },
        error: (error) => resolve({ results, error }),
        complete: () => resolve({ results }),
      },
    );
  });
  return { done, unsubscribe: () => unsubscribe() };
}

export const PROGRESS_SUBSCRIPTION = /* GraphQL */ `
  subscription Progress($jobId: ID!, $after: Int) {
    generationProgress(jobId: $jobId, after: $after) {
      jobId
      sequence
      done
      progress { completed total errors current }
      stats { total successful failed cancelled pending retries durationMs }
      image { id requestId status success mimeType error { code message retryable } }
    }
  }
`;

export interface ProgressEventShape {
  generationProgress: {
    jobId: string;
    sequence: number;
    done: boolean;
    progress: { completed: number; total: number; errors: number; current: string | null };
    stats: { total: number; successful: number; failed: number; cancelled: number; pending: number; retries: number };
    image: {
      id: string;
      requestId: string;
      status: string;
      success: boolean;
      mimeType: string | null;
      error: { code: string; message: string } | null;
    } | null;
  };
}

export const START_MUTATION = /* GraphQL */ `
  mutation Start($input: GenerateWorksheetImagesInput!) {
    startWorksheetImages(input: $input) { id status results { id requestId status } stats { total pending } }
  }
`;

export const GENERATE_MUTATION = /* GraphQL */ `
  mutation Generate($input: GenerateWorksheetImagesInput!) {
    generateWorksheetImages(input: $input) {
      id
      status
      stats { total successful failed cancelled pending retries durationMs }
      results {
        id requestId status success image mimeType byteLength placeholder deduplicated attempts
        dimensions { width height } requestedDimensions { width height }
        error { code message retryable }
      }
    }
  }
`;

export function images(
  count: number,
  prefix = 'img',
): Array<{ id: string; prompt: string; width: number; height: number }> {
  return Array.from({ length: count }, (_, index) => ({
    id: `0-${index}`,
    prompt: `${prefix} ${index}`,
    width: 256,
    height: 256,
  }));
}
