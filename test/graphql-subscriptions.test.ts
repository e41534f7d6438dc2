import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  collectSubscription,
  createRecordingWsClient,
  GENERATE_MUTATION,
  images,
  postGraphQL,
  PROGRESS_SUBSCRIPTION,
  START_MUTATION,
  type ProgressEventShape,
  type RecordingWsClient,
} from './support/graphql-clients.js';
import { createGatedProvider, type GatedProvider } from './support/gated-provider.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let provider: GatedProvider;
const clients: RecordingWsClient[] = [];

beforeAll(async () => {
  provider = createGatedProvider();
  server = await startTestServer({ GENERATION_CONCURRENCY: '2', SUBSCRIBE_WAIT_MS: '1500' }, { provider });
});
afterEach(async () => {
  provider.open();
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
  provider.shut();
});
afterAll(async () => {
  await server.close();
});

function wsClient(): RecordingWsClient {
  const client = createRecordingWsClient(server.wsUrl);
  clients.push(client);
  return client;
}

function expectGapless(events: ProgressEventShape[], jobId: string): void {
  expect(events.map((event) => event.generationProgress.sequence)).toEqual(events.map((_, index) => index + 1));
  expect(events.every((event) => event.generationProgress.jobId === jobId)).toBe(true);
  expect(events.at(-1)?.generationProgress.done).toBe(true);
  expect(events.filter((event) => event.generationProgress.done)).toHaveLength(1);
}

describe('generationProgress over WebSocket (graphql-ws)', () => {
  it('streams every state change and ends after the event with done: true', async () => {
    provider.open();
    const { client } = wsClient();
    const jobId = 'ws-stream-1';
    const subscription = collectSubscription<ProgressEventShape>(client, PROGRESS_SUBSCRIPTION, { jobId });
    const generated = await postGraphQL(server.url, GENERATE_MUTATION, { input: { jobId, images: images(3) } });
    expect(generated.body.errors).toBeUndefined();
    const { results, error } = await subscription.done;
    expect(error).toBeUndefined();
    const events = results.map((result) => result.data!);
    expectGapless(events, jobId);
    // Three images, each QUEUED -> GENERATING -> SUCCEEDED, then the final event.
    expect(events).toHaveLength(10);
    for (const id of ['0-0', '0-1', '0-2']) {
      expect(
        events
          .filter((event) => event.generationProgress.image?.requestId === id)
          .map((event) => event.generationProgress.image!.status),
      ).toEqual(['QUEUED', 'GENERATING', 'SUCCEEDED']);
    }
    const final = events.at(-1)!.generationProgress;
    expect(final.image).toBeNull();
    expect(final.progress).toMatchObject({ completed: 3, total: 3, errors: 0, current: null });
    expect(final.stats).toMatchObject({ total: 3, successful: 3, pending: 0 });
  });

  it('lets a client subscribe before it sends the mutation with its own jobId', async () => {
    const { client } = wsClient();
    const jobId = 'subscribe-first-1';
    const subscription = collectSubscription<ProgressEventShape>(client, PROGRESS_SUBSCRIPTION, { jobId });
    // Give the subscription time to reach the server before the job exists: it must wait for it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = await postGraphQL(server.url, START_MUTATION, { input: { jobId, images: images(2) } });
    expect(started.body.data).toMatchObject({
      startWorksheetImages: { id: jobId, status: 'RUNNING', stats: { total: 2, pending: 2 } },
    });
    provider.open();
    const { results, error } = await subscription.done;
    expect(error).toBeUndefined();
    expectGapless(
      results.map((result) => result.data!),
      jobId,
    );
  });

  it('replays a late subscriber from sequence 1 without gaps, then streams live events', async () => {
    const jobId = 'late-1';
    await postGraphQL(server.url, START_MUTATION, { input: { jobId, images: images(4) } });
    await provider.whenWaiting(2);
    provider.release(1);
    const { client } = wsClient();
    const live: number[] = [];
    const subscription = collectSubscription<ProgressEventShape>(client, PROGRESS_SUBSCRIPTION, { jobId }, (result) => {
      live.push(result.data!.generationProgress.sequence);
    });
    // The subscriber arrives mid-job; what happened before is replayed first.
    await expect.poll(() => live.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    provider.open();
    const { results } = await subscription.done;
    expectGapless(
      results.map((result) => result.data!),
      jobId,
    );
    expect(results.length).toBe(4 * 3 + 1);
  });

  it('cancels a running job over the API: in-flight images are aborted and queued ones never start', async () => {
    const jobId = 'cancel-1';
    const { client } = wsClient();
    const subscription = collectSubscription<ProgressEventShape>(client, PROGRESS_SUBSCRIPTION, { jobId });
    await postGraphQL(server.url, START_MUTATION, { input: { jobId, images: images(6, 'cancel me') } });
    await provider.whenWaiting(2);
    const callsBefore = provider.calls;
    const cancelled = await postGraphQL(
      server.url,
      'mutation($id: ID!) { cancelGeneration(jobId: $id) { id status stats { cancelled pending } results { status error { code } } } }',
      { id: jobId },
    );
    expect(cancelled.body.data).toMatchObject({
      cancelGeneration: { id: jobId, status: 'CANCELLED', stats: { cancelled: 6, pending: 0 } },
    });
    const results = (
      cancelled.body.data as { cancelGeneration: { results: Array<{ status: string; error: { code: string } }> } }
    ).cancelGeneration.results;
    expect(results.every((result) => result.status === 'CANCELLED' && result.error.code === 'CANCELLED')).toBe(true);
    expect(provider.calls).toBe(callsBefore);
    const { results: events } = await subscription.done;
    expect(events.at(-1)!.data!.generationProgress).toMatchObject({ done: true, stats: { cancelled: 6 } });
  });

  it('treats a repeated jobId with the same images as the same job and spends nothing more', async () => {
    provider.open();
    const input = { jobId: 'idempotent-1', images: images(2, 'same') };
    const first = await postGraphQL(server.url, GENERATE_MUTATION, { input });
    const callsAfterFirst = provider.calls;
    const second = await postGraphQL(server.url, GENERATE_MUTATION, { input });
    expect(second.body.data).toEqual(first.body.data);
    expect(provider.calls).toBe(callsAfterFirst);

    const conflicting = await postGraphQL(server.url, GENERATE_MUTATION, {
      input: { ...input, images: images(3, 'other') },
    });
    expect(conflicting.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(conflicting.body.errors?.[0]?.message).toContain('jobId "idempotent-1" is already used');
  });

  it('resumes a dropped WebSocket with after: every event once, none twice, none missing', async () => {
    const jobId = 'resume-1';
    const sockets: WebSocket[] = [];
    class TrackedWebSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols);
        sockets.push(this);
      }
    }
    const client = createWsClient({ url: server.wsUrl, webSocketImpl: TrackedWebSocket, retryAttempts: 0 });
    try {
      let received = 0;
      const before = collectSubscription<ProgressEventShape>(client, PROGRESS_SUBSCRIPTION, { jobId }, () => {
        received += 1;
      });
      await postGraphQL(server.url, START_MUTATION, { input: { jobId, images: images(3, 'resume') } });
      await provider.whenWaiting(2);
      provider.release(1);
      // Three QUEUED, two GENERATING, one SUCCEEDED at least have arrived.
      await expect.poll(() => received, { timeout: 10_000 }).toBeGreaterThanOrEqual(6);
      // The connection drops without a close handshake, as when a network goes away.
      sockets[0]!.terminate();
      const { results: first, error } = await before.done;
      expect(error).toMatchObject({ code: 1006 });
      const last = first.at(-1)!.data!.generationProgress.sequence;

      const after = collectSubscription<ProgressEventShape>(client, PROGRESS_SUBSCRIPTION, { jobId, after: last });
      provider.open();
      const { results: rest } = await after.done;
      expect(rest[0]!.data!.generationProgress.sequence).toBe(last + 1);
      expectGapless(
        [...first, ...rest].map((result) => result.data!),
        jobId,
      );
      expect(first.length + rest.length).toBe(3 * 3 + 1);
    } finally {
      await client.dispose();
    }
  });

  it('completes at once, with no event and no error, when after is the final sequence', async () => {
    provider.open();
    const jobId = 'resume-done-1';
    await postGraphQL(server.url, GENERATE_MUTATION, { input: { jobId, images: images(1) } });
    const { client } = wsClient();
    const { results, error } = await collectSubscription(client, PROGRESS_SUBSCRIPTION, { jobId, after: 4 }).done;
    expect(error).toBeUndefined();
    expect(results).toEqual([]);
  });

  it('refuses a negative after as BAD_USER_INPUT naming the argument', async () => {
    const { client } = wsClient();
    const { results, error } = await collectSubscription(client, PROGRESS_SUBSCRIPTION, { jobId: 'x', after: -1 }).done;
    const errors = (results[0]?.errors ?? error) as Array<{ message: string; extensions?: { code?: string } }>;
    expect(errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(errors[0]!.message).toContain('after must be 0 or more');
  });

  it('ends with NOT_FOUND when the job never appears', async () => {
    const { client } = wsClient();
    const { results, error } = await collectSubscription(client, PROGRESS_SUBSCRIPTION, { jobId: 'never-1' }).done;
    expect(results).toEqual([]);
    expect(JSON.stringify(error)).toContain('NOT_FOUND');
  });
});

describe('generationProgress over SSE (graphql-sse)', () => {
  it('streams the same gapless events to an SSE client', async () => {
    provider.open();
    const jobId = 'sse-1';
    const sse = createSseClient({ url: server.url, fetchFn: fetch, retryAttempts: 0 });
    try {
      const events: ProgressEventShape[] = [];
      const done = new Promise<void>((resolve, reject) => {
        sse.subscribe<ProgressEventShape>(
          { query: PROGRESS_SUBSCRIPTION, variables: { jobId } },
          { next: (result) => events.push(result.data as ProgressEventShape), error: reject, complete: resolve },
        );
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await postGraphQL(server.url, GENERATE_MUTATION, { input: { jobId, images: images(2, 'sse') } });
      await done;
      expectGapless(events, jobId);
      expect(events).toHaveLength(2 * 3 + 1);
    } finally {
      sse.dispose();
    }
  });

  it("refuses graphql-sse's single connection mode with an error that names the mode to use", async () => {
    const sse = createSseClient({ url: server.url, fetchFn: fetch, singleConnection: true, retryAttempts: 0 });
    try {
      const error = await new Promise<unknown>((resolve) => {
        sse.subscribe(
          { query: PROGRESS_SUBSCRIPTION, variables: { jobId: 'sse-single-1' } },
          { next: () => resolve(new Error('an event arrived')), error: resolve, complete: () => resolve(undefined) },
        );
      });
      expect(String(error)).toMatch(
        /Server responded with 405: SSE single connection mode is not supported; use distinct connections mode/,
      );
    } finally {
      sse.dispose();
    }
  });

  it('answers the reservation PUT and a token stream itself (not the CSRF check) with a GraphQL error body', async () => {
    const reservation = await fetch(server.url, { method: 'PUT' });
    expect(reservation.status).toBe(405);
    expect(reservation.headers.get('allow')).toBe('GET, POST, OPTIONS');
    const body = (await reservation.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe('SSE_SINGLE_CONNECTION_UNSUPPORTED');
    expect(body.errors[0]!.message).toContain('createClient({ singleConnection: false })');

    const stream = await fetch(`${server.url}?token=abc`, { headers: { accept: 'text/event-stream' } });
    expect(stream.status).toBe(400);
    expect(stream.statusText).toBe('SSE single connection mode is not supported; use distinct connections mode');
    await stream.body?.cancel();
  });
});
