import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { SharedResults } from '../src/server/shared-subscription-execution.js';
import {
  collectSubscription,
  createRecordingWsClient,
  type GraphQLResponse,
  images,
  postGraphQL,
  PROGRESS_SUBSCRIPTION,
  type ProgressEventShape,
  type RecordingWsClient,
  START_MUTATION,
} from './support/graphql-clients.js';
import { createGatedProvider, type GatedProvider } from './support/gated-provider.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/**
 * Progress events are executed once per (event, selection, variables, owner) and the result handed to every
 * subscriber that shares them. What must not change: every subscriber gets its own selection of its own job's events,
 * all of them, in order, whenever it joined.
 */
let server: TestServer;
let provider: GatedProvider;
const clients: RecordingWsClient[] = [];

beforeAll(async () => {
  provider = createGatedProvider();
  server = await startTestServer(
    { LOG_LEVEL: 'silent', GENERATION_CONCURRENCY: '1', SUBSCRIBE_WAIT_MS: '5000', JOB_MAX_RETAINED: '1' },
    { provider },
  );
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

const NARROW_SUBSCRIPTION = /* GraphQL */ `
  subscription Narrow($jobId: ID!) {
    generationProgress(jobId: $jobId) { sequence done image { requestId status } }
  }
`;

type Events = Array<ProgressEventShape['generationProgress']>;

const eventsOf = (results: Array<GraphQLResponse<ProgressEventShape>>): Events => {
  for (const result of results) expect(result.errors).toBeUndefined();
  return results.map((result) => result.data!.generationProgress);
};

/** Subscribes through graphql-sse (Yoga's own SSE transport), collecting every event to the end. */
function sseSubscription(query: string, variables: Record<string, unknown>) {
  const sse = createSseClient({ url: server.url, fetchFn: fetch, retryAttempts: 0 });
  const results: Array<GraphQLResponse<ProgressEventShape>> = [];
  const done = new Promise<void>((resolve, reject) => {
    sse.subscribe<ProgressEventShape>(
      { query, variables },
      {
        next: (result) => void results.push(result as GraphQLResponse<ProgressEventShape>),
        error: reject,
        complete: resolve,
      },
    );
  }).finally(() => sse.dispose());
  return { results, done };
}

describe('shared progress fan-out', () => {
  it('gives every subscriber of a job the same complete events, early or late, WebSocket or SSE', async () => {
    const jobId = 'shared-1';
    const other = 'shared-other-1';
    const early = Array.from({ length: 4 }, () =>
      collectSubscription<ProgressEventShape>(wsClient().client, PROGRESS_SUBSCRIPTION, { jobId }),
    );
    const narrow = collectSubscription<ProgressEventShape>(wsClient().client, NARROW_SUBSCRIPTION, { jobId });
    const otherJob = collectSubscription<ProgressEventShape>(wsClient().client, PROGRESS_SUBSCRIPTION, {
      jobId: other,
    });
    const overSse = sseSubscription(PROGRESS_SUBSCRIPTION, { jobId });
    // Every subscription waits for its job before either starts.
    await new Promise((resolve) => setTimeout(resolve, 300));

    for (const [id, count, prefix] of [
      [jobId, 3, 'shared'],
      [other, 2, 'other'],
    ] as const) {
      const started = await postGraphQL(server.url, START_MUTATION, {
        input: { jobId: id, images: images(count, prefix) },
      });
      expect(started.body.errors).toBeUndefined();
    }
    // Half-way through the first job, a late joiner subscribes: it replays what it missed, then follows.
    await provider.whenWaiting(1);
    provider.release(1);
    await provider.whenWaiting(1);
    const late = collectSubscription<ProgressEventShape>(wsClient().client, PROGRESS_SUBSCRIPTION, { jobId });
    const lateNarrow = collectSubscription<ProgressEventShape>(wsClient().client, NARROW_SUBSCRIPTION, { jobId });
    await new Promise((resolve) => setTimeout(resolve, 100));
    provider.open();

    const outcomes = await Promise.all([...early, late].map((subscription) => subscription.done));
    const reference = eventsOf(outcomes[0]!.results);
    // 3 images x (QUEUED, GENERATING, SUCCEEDED) + the final event, numbered without gaps.
    expect(reference.map((event) => event.sequence)).toEqual(Array.from({ length: 10 }, (_, index) => index + 1));
    expect(reference.every((event) => event.jobId === jobId)).toBe(true);
    expect(reference.at(-1)).toMatchObject({ done: true, image: null, progress: { completed: 3, total: 3 } });
    for (const id of ['0-0', '0-1', '0-2']) {
      expect(reference.filter((event) => event.image?.requestId === id).map((event) => event.image?.status)).toEqual([
        'QUEUED',
        'GENERATING',
        'SUCCEEDED',
      ]);
    }
    for (const outcome of outcomes) {
      expect(outcome.error).toBeUndefined();
      expect(eventsOf(outcome.results)).toEqual(reference);
    }
    await overSse.done;
    expect(eventsOf(overSse.results)).toEqual(reference);

    // Another selection of the same events: exactly its own fields, the same values.
    const projected = reference.map((event) => ({
      sequence: event.sequence,
      done: event.done,
      image: event.image ? { requestId: event.image.requestId, status: event.image.status } : null,
    }));
    for (const subscription of [narrow, lateNarrow]) {
      const { results, error } = await subscription.done;
      expect(error).toBeUndefined();
      expect(eventsOf(results)).toEqual(projected);
    }

    // Other variables: the other job's events only.
    const otherEvents = eventsOf((await otherJob.done).results);
    expect(otherEvents).toHaveLength(7);
    expect(otherEvents.every((event) => event.jobId === other)).toBe(true);
    expect(otherEvents.filter((event) => event.image?.status === 'SUCCEEDED')).toHaveLength(2);
  });

  it('never hands a new job under a reused id the results of the old one', async () => {
    provider.open();
    const jobId = 'reused-1';
    const first = collectSubscription<ProgressEventShape>(wsClient().client, PROGRESS_SUBSCRIPTION, { jobId });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await postGraphQL(server.url, START_MUTATION, { input: { jobId, images: images(1, 'first') } });
    const firstEvents = eventsOf((await first.done).results);
    expect(firstEvents.at(-1)?.stats.total).toBe(1);

    // JOB_MAX_RETAINED is 1: finishing another job drops the first, and its id is free again.
    const filler = await postGraphQL(server.url, START_MUTATION, { input: { images: images(1, 'filler') } });
    const fillerId = (filler.body.data as { startWorksheetImages: { id: string } }).startWorksheetImages.id;
    await collectSubscription(wsClient().client, PROGRESS_SUBSCRIPTION, { jobId: fillerId }).done;

    const again = await postGraphQL(server.url, START_MUTATION, { input: { jobId, images: images(2, 'second') } });
    expect(again.body.errors).toBeUndefined();
    const secondEvents = eventsOf(
      (await collectSubscription<ProgressEventShape>(wsClient().client, PROGRESS_SUBSCRIPTION, { jobId }).done).results,
    );
    expect(secondEvents).toHaveLength(7);
    expect(secondEvents.every((event) => event.progress.total === 2)).toBe(true);
  });
});

describe('the shared results cache', () => {
  const result = (text: string): ExecutionResult => ({ data: { value: text } });

  it('runs once per key and answers the same result object to every later caller', () => {
    const cache = new SharedResults(10, 1_000_000);
    let runs = 0;
    const first = cache.getOrRun('a', () => {
      runs += 1;
      return result('one');
    });
    const second = cache.getOrRun('a', () => {
      runs += 1;
      return result('two');
    });
    expect(second).toBe(first);
    expect(runs).toBe(1);
  });

  it('keeps at most maxEntries results, dropping the oldest', () => {
    const cache = new SharedResults(2, 1_000_000);
    for (const key of ['a', 'b', 'c']) cache.getOrRun(key, () => result(key));
    expect(cache.size).toBe(2);
    let ran = false;
    cache.getOrRun('a', () => {
      ran = true;
      return result('a');
    });
    expect(ran).toBe(true);
  });

  it('keeps its total weight within maxWeight, and lets a heavy result go after the current turn', async () => {
    const cache = new SharedResults(100, 4000);
    cache.getOrRun('small-1', () => result('x'.repeat(500)));
    cache.getOrRun('small-2', () => result('x'.repeat(500)));
    expect(cache.weight).toBeGreaterThan(1000);
    // Over a quarter of the budget (a data URL, say): shared now, kept no longer.
    const heavy = cache.getOrRun('heavy', () => result('x'.repeat(1500)));
    expect(cache.getOrRun('heavy', () => result('again'))).toBe(heavy);
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.size).toBe(2);
    expect(cache.weight).toBeLessThan(1200);
    // More than the budget in total: the oldest go.
    for (let index = 0; index < 10; index += 1) cache.getOrRun(`more-${index}`, () => result('y'.repeat(900)));
    expect(cache.weight).toBeLessThanOrEqual(4000);
  });

  it('does not keep a result whose execution failed', async () => {
    const cache = new SharedResults(10, 1_000_000);
    const failed = cache.getOrRun('a', () => Promise.reject(new Error('boom')));
    await expect(failed).rejects.toThrow('boom');
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.size).toBe(0);
  });
});
