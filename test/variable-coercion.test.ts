import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATE_MUTATION, postGraphQL } from './support/graphql-clients.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/**
 * Variables are coerced once: by the executor for an ordinary request, by a first check that stops at the first error
 * for a large one. Either way a bad input is answered with one short error naming what was wrong.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ LOG_LEVEL: 'silent', NODE_ENV: 'production' });
});
afterAll(async () => {
  await server.close();
});

const image = (overrides: Record<string, unknown> = {}) => ({
  id: '0-0',
  prompt: 'A red kite',
  width: 256,
  height: 256,
  ...overrides,
});

describe('variable coercion', () => {
  it('answers a small input with three bad fields with one 400 error, the first', async () => {
    const { status, body } = await postGraphQL(server.url, GENERATE_MUTATION, {
      input: { images: [image({ width: 'wide', colour: 'red', shade: 'dark' })] },
    });
    expect(status).toBe(400);
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.message).toMatch(
      /^Variable "\$input" got invalid value "wide" at "input\.images\[0\]\.width"/,
    );
  });

  it('cuts a long quoted value in the middle, keeping what was wrong', async () => {
    const { status, body } = await postGraphQL(server.url, GENERATE_MUTATION, {
      input: { images: [image({ prompt: 'p'.repeat(8000), colour: 'red' })] },
    });
    expect(status).toBe(400);
    expect(body.errors).toHaveLength(1);
    const message = body.errors?.[0]?.message ?? '';
    expect(message.length).toBeLessThanOrEqual(1000);
    expect(message).toContain(' … ');
    expect(message).toMatch(/Field "colour" is not defined by type "ImageRequestInput"\.$/);
  });

  it('stops at the first error of a large input (checked before the executor)', async () => {
    const unknown = Object.fromEntries(Array.from({ length: 5000 }, (_, index) => [`f${index}`, index]));
    const { status, body, text } = await postGraphQL(server.url, GENERATE_MUTATION, {
      input: { images: [image()], ...unknown },
    });
    expect(status).toBe(400);
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.message).toMatch(/Field "f0" is not defined by type "GenerateWorksheetImagesInput"\.$/);
    expect(text.length).toBeLessThan(4096);
  });

  it('runs a valid input as usual', async () => {
    const { status, body } = await postGraphQL<{ generateWorksheetImages: { status: string } }>(
      server.url,
      GENERATE_MUTATION,
      { input: { images: [image()] } },
    );
    expect(status).toBe(200);
    expect(body.data?.generateWorksheetImages.status).toBe('COMPLETED');
  });
});
