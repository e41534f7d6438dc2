import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatedProvider, type GatedProvider } from './support/gated-provider.js';
import {
  collectSubscription,
  createRecordingWsClient,
  GENERATE_MUTATION,
  type ProgressEventShape,
  PROGRESS_SUBSCRIPTION,
  postGraphQL,
} from './support/graphql-clients.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const GENERATE_IMAGE = /* GraphQL */ `
  mutation One($prompt: String!, $jobId: ID) {
    generateImage(prompt: $prompt, width: 256, height: 256, jobId: $jobId) {
      id
      requestId
      status
      attempts
      error { code message retryable }
    }
  }
`;
const CANCEL = /* GraphQL */ `
  mutation Cancel($jobId: ID!) { cancelGeneration(jobId: $jobId) { id status stats { cancelled pending } } }
`;

interface ImageAnswer {
  generateImage: {
    id: string;
    requestId: string;
    status: string;
    attempts: number;
    error: { code: string; message: string; retryable: boolean } | null;
  };
}

/**
 * generateImage with a jobId of the client's choosing, over real HTTP and WebSocket against a real server whose
 * provider holds every image until the test releases it: the client can cancel or follow the image from another
 * request while generateImage waits, and the id is an idempotency key as generateWorksheetImages' is.
 */
describe('generateImage with a client-chosen jobId', () => {
  let provider: GatedProvider;
  let server: TestServer;
  const generate = (prompt: string, jobId?: string | null) =>
    postGraphQL<ImageAnswer>(server.url, GENERATE_IMAGE, { prompt, jobId });

  beforeAll(async () => {
    provider = createGatedProvider();
    server = await startTestServer({}, { provider });
  });
  afterAll(async () => {
    provider.open();
    await server.close();
  });

  it('is cancelled by cancelGeneration(jobId) from a second request while in flight, and answers CANCELLED saying so', async () => {
    const pending = generate('a slow owl', 'single-cancel');
    await provider.whenWaiting(1);
    expect(provider.waiting.map((request) => request.prompt)).toEqual(['a slow owl']);

    const cancelled = await postGraphQL(server.url, CANCEL, { jobId: 'single-cancel' });
    expect(cancelled.body.errors).toBeUndefined();
    expect(cancelled.body.data?.cancelGeneration).toEqual({
      id: 'single-cancel',
      status: 'CANCELLED',
      stats: { cancelled: 1, pending: 0 },
    });

    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data?.generateImage).toEqual({
      id: 'single-cancel/image',
      requestId: 'image',
      status: 'CANCELLED',
      attempts: 1,
      error: { code: 'CANCELLED', message: 'Cancelled before the image was finished.', retryable: false },
    });
    expect(provider.waiting).toEqual([]);
  });

  it('can be followed with generationProgress(jobId), subscribed before the mutation is sent', async () => {
    const ws = createRecordingWsClient(server.wsUrl);
    try {
      const events = collectSubscription<ProgressEventShape>(ws.client, PROGRESS_SUBSCRIPTION, {
        jobId: 'single-followed',
      });
      // The subscription waits for the id; the mutation then creates the job it is waiting for.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const pending = generate('a followed fox', 'single-followed');
      await provider.whenWaiting(1);
      provider.release();
      expect((await pending).body.data?.generateImage).toMatchObject({ status: 'SUCCEEDED' });

      const { results, error } = await events.done;
      expect(error).toBeUndefined();
      const progress = results.map((result) => result.data?.generationProgress);
      expect(progress.map((event) => event?.image?.status ?? 'done')).toEqual([
        'QUEUED',
        'GENERATING',
        'SUCCEEDED',
        'done',
      ]);
      expect(progress.every((event) => event?.jobId === 'single-followed')).toBe(true);
      expect(progress.at(-1)).toMatchObject({ done: true, stats: { total: 1, successful: 1 } });
    } finally {
      await ws.dispose();
    }
  });

  it('is an idempotency key: the same id and image twice, at once and after, is one job and one upstream call', async () => {
    const callsBefore = provider.calls;
    const first = generate('an idempotent ibis', 'single-same');
    await provider.whenWaiting(1);
    const second = generate('an idempotent ibis', 'single-same');
    // The second request is answered by the running job: it must not reach the provider.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(provider.waiting).toHaveLength(1);
    provider.release();
    const answers = await Promise.all([first, second]);
    for (const answer of answers) {
      expect(answer.body.data?.generateImage).toMatchObject({ id: 'single-same/image', status: 'SUCCEEDED' });
    }
    const later = await generate('an idempotent ibis', 'single-same');
    expect(later.body.data?.generateImage).toMatchObject({ id: 'single-same/image', status: 'SUCCEEDED' });
    expect(provider.calls - callsBefore).toBe(1);
  });

  it('refuses the same id with another image, or an id of a batch, naming jobId; and a blank id', async () => {
    provider.open();
    try {
      expect((await generate('the first image', 'single-conflict')).body.data?.generateImage.status).toBe('SUCCEEDED');
      const calls = provider.calls;
      const conflict = await generate('another image', 'single-conflict');
      expect(conflict.body.data).toBeNull();
      expect(conflict.body.errors?.[0]).toMatchObject({
        message:
          'jobId "single-conflict" is already used by a job with a different image; use a new jobId for a new image',
        extensions: { code: 'BAD_USER_INPUT', issues: [{ field: 'jobId' }] },
      });

      const batch = await postGraphQL(server.url, GENERATE_MUTATION, {
        input: { jobId: 'single-batch', images: [{ id: 'a', prompt: 'a batch', width: 256, height: 256 }] },
      });
      expect(batch.body.errors).toBeUndefined();
      const onBatch = await generate('a batch', 'single-batch');
      expect(onBatch.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(onBatch.body.errors?.[0]?.message).toContain('jobId "single-batch" is already used');
      expect(provider.calls).toBe(calls + 1);

      const blank = await generate('blank id', '   ');
      expect(blank.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(blank.body.errors?.[0]?.message).toMatch(/jobId must not be blank/);
      const long = await generate('long id', 'x'.repeat(129));
      expect(long.body.errors?.[0]?.message).toMatch(/jobId must be at most 128 characters/);
      expect(provider.calls).toBe(calls + 1);
    } finally {
      provider.shut();
    }
  });

  it('without a jobId, still runs as a job of its own with an id the server chose', async () => {
    provider.open();
    try {
      const answer = await generate('no id given', null);
      expect(answer.body.data?.generateImage).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f-]{36}\/image$/),
        status: 'SUCCEEDED',
      });
    } finally {
      provider.shut();
    }
  });
});

describe('generateImage with a jobId under the image quota (QUOTA_IMAGES_PER_MINUTE=2)', () => {
  it('counts a repeated id once: resending it answers the same job and spends nothing', async () => {
    const provider = createGatedProvider();
    provider.open();
    const server = await startTestServer({ QUOTA_IMAGES_PER_MINUTE: '2' }, { provider });
    try {
      const send = (prompt: string, jobId: string) =>
        postGraphQL<ImageAnswer>(server.url, GENERATE_IMAGE, { prompt, jobId });
      for (let attempt = 0; attempt < 3; attempt++) {
        expect((await send('counted once', 'quota-single')).body.data?.generateImage.status).toBe('SUCCEEDED');
      }
      expect((await send('second image', 'quota-single-2')).body.errors).toBeUndefined();
      const over = await send('third image', 'quota-single-3');
      expect(over.status).toBe(429);
      expect(over.body.errors?.[0]?.message).toContain('2 images per minute');
      expect(provider.calls).toBe(2);
    } finally {
      await server.close();
    }
  });
});
