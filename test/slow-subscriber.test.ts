import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ImageProvider } from '../src/providers/types.js';
import { images, postGraphQL, START_MUTATION } from './support/graphql-clients.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Incompressible 1 MiB "pictures", so a few dozen progress events carry tens of megabytes. */
const heavyProvider: ImageProvider = {
  name: 'local',
  placeholder: true,
  generate: async () => ({ mimeType: 'image/png', bytes: Buffer.concat([PNG_SIGNATURE, randomBytes(1024 * 1024)]) }),
  close: async () => {},
};

describe('a subscriber that stops reading', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ QUOTA_IMAGES_PER_MINUTE: '0' }, { provider: heavyProvider });
  });
  afterAll(async () => {
    await server.close();
  });

  it('is held back by backpressure: the server sends it one event at a time and it misses nothing when it reads again', async () => {
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const frames: string[] = [];
    socket.on('message', (data) => frames.push(String(data)));
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ type: 'connection_init' }));
    await expect.poll(() => frames.length).toBe(1);
    const jobId = 'slow-reader-1';
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: {
          query: 'subscription($jobId: ID!) { generationProgress(jobId: $jobId) { sequence done image { id image } } }',
          variables: { jobId },
        },
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The client stops reading: graphql-ws awaits each send, so the job's event log is read only as fast as the
    // socket drains, and the server never queues the whole stream for it.
    const raw = (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();

    const started = await postGraphQL(server.url, START_MUTATION, { input: { jobId, images: images(24, 'heavy') } });
    expect(started.body.errors).toBeUndefined();
    const status = async () =>
      (
        (await postGraphQL(server.url, 'query($id: ID!) { generationJob(id: $id) { status } }', { id: jobId })).body
          .data as {
          generationJob: { status: string };
        }
      ).generationJob.status;
    // The job itself is not held back by its slow reader, and other clients are served meanwhile.
    await expect.poll(status, { timeout: 20_000 }).toBe('COMPLETED');
    expect((await fetch(server.url.replace(/\/graphql$/, '/health'))).status).toBe(200);
    const readWhilePaused = frames.length;

    raw.resume();
    await expect
      .poll(() => frames.some((frame) => frame.includes('"type":"complete"')), { timeout: 20_000 })
      .toBe(true);
    const sequences = frames
      .map(
        (frame) =>
          JSON.parse(frame) as { type: string; payload?: { data?: { generationProgress?: { sequence: number } } } },
      )
      .flatMap((message) =>
        message.type === 'next' ? [message.payload?.data?.generationProgress?.sequence ?? -1] : [],
      );
    // Every image is QUEUED, GENERATING and SUCCEEDED, then the final event: nothing dropped, nothing out of order.
    expect(sequences).toEqual(Array.from({ length: 24 * 3 + 1 }, (_, index) => index + 1));
    expect(readWhilePaused).toBeLessThan(frames.length);
    socket.close();
  });
});
