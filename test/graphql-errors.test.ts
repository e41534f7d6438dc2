import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageProvider } from '../src/providers/types.js';
import {
  collectSubscription,
  createRecordingWsClient,
  GENERATE_MUTATION,
  images,
  postGraphQL,
} from './support/graphql-clients.js';
import { createGatedProvider, type GatedProvider } from './support/gated-provider.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const image = (overrides: Record<string, unknown> = {}) => ({
  id: '0-0',
  prompt: 'A red kite',
  width: 256,
  height: 256,
  ...overrides,
});

describe('bad input', () => {
  let server: TestServer;
  let provider: GatedProvider;
  beforeAll(async () => {
    provider = createGatedProvider();
    provider.open();
    server = await startTestServer({ MAX_BATCH_SIZE: '5', MAX_PROMPT_LENGTH: '50' }, { provider });
  });
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['an empty prompt', { images: [image({ prompt: '' })] }, 'input.images[0].prompt', 'must not be empty or blank'],
    [
      'a blank prompt',
      { images: [image(), image({ id: '0-1', prompt: '  \n ' })] },
      'input.images[1].prompt',
      'must not be empty or blank',
    ],
    [
      'a prompt over the limit',
      { images: [image({ prompt: 'x'.repeat(51) })] },
      'input.images[0].prompt',
      'at most 50 characters',
    ],
    [
      'a prompt with control characters',
      { images: [image({ prompt: 'kite\u0000' })] },
      'input.images[0].prompt',
      'control characters',
    ],
    ['a width below the minimum', { images: [image({ width: 32 })] }, 'input.images[0].width', 'at least 64 pixels'],
    [
      'a height above the maximum',
      { images: [image({ height: 4000 })] },
      'input.images[0].height',
      'at most 1792 pixels',
    ],
    ['duplicate ids', { images: [image(), image()] }, 'input.images[1].id', 'used twice'],
    ['a blank id', { images: [image({ id: ' ' })] }, 'input.images[0].id', 'must not be blank'],
    ['an empty batch', { images: [] }, 'input.images', 'at least 1 image'],
    ['too many images', { images: images(6) }, 'input.images', 'at most 5 images'],
    ['a negative seed', { images: [image({ seed: -3 })] }, 'input.images[0].seed', 'at least 0'],
    ['a blank jobId', { jobId: '  ', images: [image()] }, 'input.jobId', 'must not be blank'],
  ])(
    'answers %s with BAD_USER_INPUT naming the field and the limit, and sends nothing upstream',
    async (_name, input, field, limit) => {
      const callsBefore = provider.calls;
      const { status, body } = await postGraphQL(server.url, GENERATE_MUTATION, { input });
      expect(status).toBe(200);
      expect(body.data).toBeNull();
      const [error] = body.errors ?? [];
      expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(error?.message).toContain(field);
      expect(error?.message).toContain(limit);
      expect(error?.extensions?.issues).toContainEqual({ field, message: expect.stringContaining(limit) });
      expect(provider.calls).toBe(callsBefore);
    },
  );

  it('validates generateImage the same way', async () => {
    const { body } = await postGraphQL(
      server.url,
      'mutation { generateImage(prompt: " ", width: 10, height: 256) { id } }',
    );
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.message).toMatch(
      /prompt: prompt must not be empty or blank; width: width must be at least 64 pixels/,
    );
  });

  it('answers an unknown job with null and cancelling it with NOT_FOUND', async () => {
    expect((await postGraphQL(server.url, '{ generationJob(id: "missing") { id } }')).body).toEqual({
      data: { generationJob: null },
    });
    const { body } = await postGraphQL(server.url, 'mutation { cancelGeneration(jobId: "missing") { id } }');
    expect(body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('keeps every earlier job intact after bad input', async () => {
    const good = await postGraphQL(server.url, GENERATE_MUTATION, { input: { jobId: 'kept-1', images: [image()] } });
    expect(good.body.errors).toBeUndefined();
    await postGraphQL(server.url, GENERATE_MUTATION, { input: { jobId: 'kept-1', images: [image({ width: 1 })] } });
    const { body } = await postGraphQL(server.url, '{ generationJob(id: "kept-1") { status stats { successful } } }');
    expect(body.data).toEqual({ generationJob: { status: 'COMPLETED', stats: { successful: 1 } } });
  });
});

describe('unexpected errors', () => {
  const internalDetail = 'db-password-in-stack-trace';
  let server: TestServer;
  beforeAll(async () => {
    const gated = createGatedProvider();
    gated.open();
    const broken: ImageProvider = {
      name: 'local',
      get placeholder(): boolean {
        throw new Error(`boom: ${internalDetail}`);
      },
      generate: (request, signal) => gated.generate(request, signal),
      close: async () => {},
    };
    server = await startTestServer({ SUBSCRIBE_WAIT_MS: '2000' }, { provider: broken });
  });
  afterAll(async () => {
    await server.close();
  });

  it('reach HTTP clients as "Unexpected error." with a code and no detail', async () => {
    const { text, body } = await postGraphQL(
      server.url,
      'mutation { generateImage(prompt: "kite", width: 64, height: 64) { placeholder } }',
    );
    expect(body.errors?.[0]).toMatchObject({
      message: 'Unexpected error.',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(text).not.toContain(internalDetail);
    expect(text).not.toContain('boom');
  });

  it('reach WebSocket clients masked too', async () => {
    const ws = createRecordingWsClient(server.wsUrl);
    try {
      const subscription = collectSubscription(
        ws.client,
        'subscription { generationProgress(jobId: "masked-1") { sequence image { placeholder } } }',
        {},
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      await postGraphQL(server.url, GENERATE_MUTATION.replace('placeholder', ''), {
        input: { jobId: 'masked-1', images: images(1) },
      });
      await subscription.done;
      const frames = ws.frames.join('\n');
      expect(frames).toContain('Unexpected error.');
      expect(frames).not.toContain(internalDetail);
      expect(ws.closeEvents.map((event) => event.reason).join(' ')).not.toContain(internalDetail);
    } finally {
      await ws.dispose();
    }
  });
});
