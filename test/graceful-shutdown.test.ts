import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_TOGETHER_API_KEY, startFakeTogether, type FakeTogether } from './support/fake-together.js';
import {
  collectSubscription,
  createRecordingWsClient,
  images,
  postGraphQL,
  PROGRESS_SUBSCRIPTION,
  START_MUTATION,
  type ProgressEventShape,
} from './support/graphql-clients.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

let fake: FakeTogether | undefined;
let server: ServerProcess | undefined;
afterEach(async () => {
  server?.child.kill('SIGKILL');
  await fake?.close();
  server = undefined;
  fake = undefined;
});

async function startWithSlowUpstream(latencyMs: number, graceMs: number) {
  fake = await startFakeTogether({ latencyMs });
  server = await startServerProcess({
    TOGETHER_API_KEY: FAKE_TOGETHER_API_KEY,
    TOGETHER_BASE_URL: fake.url,
    SHUTDOWN_GRACE_MS: String(graceMs),
    GENERATION_CONCURRENCY: '4',
  });
  return { fake, server };
}

// Each test starts the server as a Node process that compiles the TypeScript through tsx, then waits for a drain:
// on a loaded machine (CI running the suite on Node 20 and 24, or helpers sharing 2 cores) that outgrows 30 s.
const PROCESS_TIMEOUT_MS = 60_000;

describe('graceful shutdown on SIGTERM', { timeout: PROCESS_TIMEOUT_MS }, () => {
  it('refuses new work, lets running jobs finish, delivers their final events, closes sockets with 1001 and exits 0', async () => {
    const { fake: upstream, server: process } = await startWithSlowUpstream(1500, 30_000);
    const ws = createRecordingWsClient(process.wsUrl);
    const jobId = 'drain-1';
    const subscription = collectSubscription<ProgressEventShape>(ws.client, PROGRESS_SUBSCRIPTION, { jobId });
    const started = await postGraphQL(process.url, START_MUTATION, { input: { jobId, images: images(6, 'drain') } });
    expect(started.body.errors).toBeUndefined();
    await upstream.whenInFlight(4);

    process.child.kill('SIGTERM');
    const base = process.url.replace(/\/graphql$/, '');
    await expect.poll(async () => (await fetch(`${base}/ready`)).status, { timeout: 5_000 }).toBe(503);
    const refused = await postGraphQL(process.url, START_MUTATION, { input: { images: images(1, 'late') } });
    expect(refused.body.errors?.[0]).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
    expect(refused.body.errors?.[0]?.message).toContain('shutting down');

    const { results } = await subscription.done;
    const final = results.at(-1)!.data!.generationProgress;
    expect(final).toMatchObject({
      done: true,
      stats: { total: 6, successful: 6, failed: 0, cancelled: 0, pending: 0 },
    });
    expect(await process.exited).toEqual({ code: 0, signal: null });
    expect(ws.closeEvents.map((event) => event.code)).toContain(1001);
    // Nothing the job asked for was lost: every image reached the upstream and came back.
    expect(upstream.counters.responsesByStatus[200]).toBe(6);
    await ws.dispose();
  });

  it('cancels what is still running when the grace period ends, and says so', async () => {
    const { fake: upstream, server: process } = await startWithSlowUpstream(20_000, 300);
    const ws = createRecordingWsClient(process.wsUrl);
    const jobId = 'drain-2';
    const subscription = collectSubscription<ProgressEventShape>(ws.client, PROGRESS_SUBSCRIPTION, { jobId });
    await postGraphQL(process.url, START_MUTATION, { input: { jobId, images: images(2, 'too slow') } });
    await upstream.whenInFlight(2);
    process.child.kill('SIGTERM');
    const { results } = await subscription.done;
    const final = results.at(-1)!.data!.generationProgress;
    expect(final).toMatchObject({ done: true, stats: { total: 2, cancelled: 2, pending: 0 } });
    const cancelled = results
      .map((result) => result.data!.generationProgress.image)
      .filter((image) => image?.status === 'CANCELLED');
    expect(cancelled.map((image) => image!.error?.code)).toEqual(['CANCELLED', 'CANCELLED']);
    expect(await process.exited).toEqual({ code: 0, signal: null });
    await ws.dispose();
  });
});
