import { Client, fetchExchange, subscriptionExchange, type Exchange, type OperationResult } from '@urql/core';
import { cacheExchange, type KeyingConfig } from '@urql/exchange-graphcache';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  generateWorksheetImagesMutation,
  generationJobQuery,
  generationProgressSubscription,
  graphcacheKeys,
  type GenerationProgressSubscription,
  type GenerationProgressSubscriptionVariables,
} from '../src/client/index.js';
import { captureConsole } from './support/console-capture.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let console_: ReturnType<typeof captureConsole> | undefined;
const disposers: Array<() => unknown> = [];

beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  console_?.restore();
  console_ = undefined;
  await Promise.all(disposers.splice(0).map((dispose) => dispose()));
});
afterAll(async () => {
  await server.close();
});

type Transport = 'graphql-ws' | 'urql-sse' | 'graphql-sse' | 'graphql-sse-single';

/** graphcache in front; subscriptions over the transport a user picked, as urql's docs wire each. */
function urql(transport: Transport, keys?: KeyingConfig): Client {
  const exchanges: Exchange[] = [cacheExchange(keys ? { keys } : {})];
  if (transport === 'graphql-ws') {
    const ws = createWsClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    disposers.push(() => ws.dispose());
    exchanges.push(
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    );
  } else if (transport !== 'urql-sse') {
    const sse: SseClient = createSseClient({
      url: server.url,
      singleConnection: transport === 'graphql-sse-single',
      retryAttempts: 0,
    });
    disposers.push(() => sse.dispose());
    exchanges.push(
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: sse.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    );
  }
  exchanges.push(fetchExchange);
  // urql's own SSE: fetchExchange sends subscriptions as a POST that accepts text/event-stream.
  return new Client({ url: server.url, exchanges, fetchSubscriptions: transport === 'urql-sse' });
}

const worksheet = (prompts: string[]) =>
  prompts.map((prompt, index) => ({ id: `0-${index}`, prompt, width: 128, height: 128 }));

/** Follows a job through urql to its end while generating it; answers the events and the final error, if any. */
async function followWhileGenerating(client: Client, jobId: string, prompts: string[]) {
  const events: Array<GenerationProgressSubscription['generationProgress']> = [];
  let failure: OperationResult['error'];
  let over = false;
  const finished = new Promise<void>((resolve) => {
    const subscription = client
      .subscription<GenerationProgressSubscription, GenerationProgressSubscriptionVariables>(
        generationProgressSubscription,
        { jobId },
      )
      .subscribe((result) => {
        // graphcache re-emits a subscription's last result when later writes touch it; the stream is over by then.
        if (over) return;
        if (result.error) failure = result.error;
        const event = result.data?.generationProgress;
        if (event) events.push(event);
        // After done the server ends the stream and urql completes the source by itself; unsubscribing here would
        // abort a fetch whose body urql is still reading, which urql reports as an unhandled AbortError.
        if (result.error) subscription.unsubscribe();
        if (result.error || event?.done) {
          over = true;
          resolve();
        }
      });
    disposers.push(() => subscription.unsubscribe());
  });
  // The subscription waits for the job id, so the mutation may come after it.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const generated = await client
    .mutation(generateWorksheetImagesMutation, { input: { jobId, images: worksheet(prompts) } })
    .toPromise();
  expect(generated.error).toBeUndefined();
  await finished;
  return { events, failure };
}

describe('urql with graphcache', () => {
  it('keeps two worksheets whose request ids collide apart, with graphcacheKeys and no warning', async () => {
    console_ = captureConsole();
    const client = urql('graphql-ws', graphcacheKeys);
    const answers = new Map<string, Array<string | null>>();
    for (const [jobId, prompts] of [
      ['urql-a', ['A cat on a mat', 'A dog in a fog']],
      ['urql-b', ['A bee in a tree', 'A fish on a dish']],
    ] as const) {
      const { events } = await followWhileGenerating(client, jobId, [...prompts]);
      expect(events.map((event) => event.sequence)).toEqual(events.map((_, index) => index + 1));
    }
    // After the mutations: graphcache invalidates queries on a mutation's new entities, as it does by default.
    for (const jobId of ['urql-a', 'urql-b']) {
      const { data } = await client
        .query(generationJobQuery, { id: jobId }, { requestPolicy: 'network-only' })
        .toPromise();
      answers.set(
        jobId,
        data!.generationJob!.results.map((result) => result.url),
      );
    }
    for (const jobId of ['urql-a', 'urql-b']) {
      const cached = client.readQuery(generationJobQuery, { id: jobId }, { requestPolicy: 'cache-only' });
      expect(cached?.data?.generationJob?.results.map((result) => [result.id, result.requestId])).toEqual([
        [`${jobId}/0-0`, '0-0'],
        [`${jobId}/0-1`, '0-1'],
      ]);
      expect(cached?.data?.generationJob?.results.map((result) => result.url)).toEqual(answers.get(jobId));
    }
    expect(answers.get('urql-a')![0]).not.toBe(answers.get('urql-b')![0]);
    expect(console_.lines).toEqual([]);
  });

  it('warns "Invalid key" for the value types without graphcacheKeys', async () => {
    const images = worksheet(['A hat']);
    await server.app.jobs.start({ jobId: 'urql-keys', images }).then((job) => job.finished);
    console_ = captureConsole();
    const client = urql('graphql-ws');
    await client.query(generationJobQuery, { id: 'urql-keys' }, { requestPolicy: 'network-only' }).toPromise();
    const printed = console_.lines.join('\n');
    for (const type of ['GenerationStats', 'Dimensions'])
      expect(printed).toMatch(new RegExp(`Invalid key[\\s\\S]*${type}`));
  });
});

describe('urql subscriptions over each transport', () => {
  it.each([
    ['graphql-ws', 'graphql-ws client'],
    ['urql-sse', "urql's own SSE (fetchSubscriptions)"],
    ['graphql-sse', "graphql-sse's client in distinct connections mode"],
  ] as const)('%s: streams a whole job, gapless, into graphcache (%s)', async (transport, _description) => {
    console_ = captureConsole();
    const client = urql(transport, graphcacheKeys);
    const jobId = `urql-${transport}`;
    const { events, failure } = await followWhileGenerating(client, jobId, ['A red kite', 'A blue boat']);
    expect(failure).toBeUndefined();
    expect(events.map((event) => event.sequence)).toEqual(events.map((_, index) => index + 1));
    expect(events).toHaveLength(2 * 3 + 1);
    expect(events.at(-1)).toMatchObject({ done: true, stats: { successful: 2 } });
    expect(console_.lines).toEqual([]);
  });

  it("graphql-sse's single connection mode: an error that names distinct connections mode", async () => {
    const client = urql('graphql-sse-single', graphcacheKeys);
    const { events, failure } = await followWhileGenerating(client, 'urql-sse-single', ['A green frog']);
    expect(events).toEqual([]);
    expect(failure?.message).toMatch(/SSE single connection mode is not supported; use distinct connections mode/);
  });
});
