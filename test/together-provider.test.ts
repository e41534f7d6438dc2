import { describe, expect, it } from 'vitest';
import { toDataUrl } from '../src/images/image-mime.js';
import { ProviderError } from '../src/providers/provider-error.js';
import { createTogetherProvider } from '../src/providers/together-provider.js';
import type { ProviderRequest } from '../src/providers/types.js';
import {
  FAKE_TOGETHER_MODEL,
  errorBody,
  expectedImageBytes,
  flagged,
  rateLimited,
  type FakeBehavior,
  type FakeGenerationRequest,
} from './support/fake-together.js';
import {
  useGenerationHarness,
  type GenerationHarness,
  type GenerationHarnessOptions,
} from './support/generation-harness.js';
import { tinyJpeg, tinyPng, tinyWebp } from './support/test-images.js';

const REQUEST: ProviderRequest = { prompt: 'a red apple on a school desk', width: 512, height: 384 };

const start = useGenerationHarness();

function generate(subject: GenerationHarness, request: ProviderRequest = REQUEST) {
  return subject.provider.generate(request, new AbortController().signal);
}

/** The ProviderError one attempt fails with, after a scripted answer. */
async function failureAfter(behavior: FakeBehavior, options: GenerationHarnessOptions = {}): Promise<ProviderError> {
  const subject = await start(options);
  subject.fake.enqueue(behavior);
  const error: unknown = await generate(subject).then(
    () => {
      throw new Error('expected the attempt to fail');
    },
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe('the request Together receives', () => {
  it('is a JSON POST to /v1/images/generations with the bearer key', async () => {
    const subject = await start();
    await generate(subject);
    expect(subject.fake.requests).toHaveLength(1);
    const [seen] = subject.fake.requests;
    expect(seen?.method).toBe('POST');
    expect(seen?.path).toBe('/v1/images/generations');
    expect(seen?.headers.authorization).toBe(`Bearer ${subject.fake.apiKey}`);
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(seen?.status).toBe(200);
  });

  it('carries model, prompt, size, steps, n: 1 and response_format "base64", and no seed when none was given', async () => {
    const subject = await start({ steps: 6 });
    await generate(subject);
    expect(subject.fake.requests[0]?.body).toEqual({
      model: FAKE_TOGETHER_MODEL,
      prompt: REQUEST.prompt,
      width: 512,
      height: 384,
      steps: 6,
      n: 1,
      response_format: 'base64',
    });
  });

  it('carries the seed when one was given, zero included', async () => {
    const subject = await start();
    await generate(subject, { ...REQUEST, seed: 42 });
    await generate(subject, { ...REQUEST, seed: 0 });
    await generate(subject, { ...REQUEST, seed: null });
    const seeds = subject.fake.requests.map((request) => (request.body as Record<string, unknown>).seed);
    expect(seeds).toEqual([42, 0, undefined]);
    expect(Object.keys(subject.fake.requests[2]?.body as object)).not.toContain('seed');
  });

  it('works with a base URL that ends in a slash', async () => {
    const subject = await start();
    const provider = createTogetherProvider({
      apiKey: subject.apiKey,
      baseUrl: `${subject.fake.url}/`,
      model: FAKE_TOGETHER_MODEL,
      steps: 4,
      connections: 1,
    });
    try {
      await provider.generate(REQUEST, new AbortController().signal);
      expect(subject.fake.requests[0]?.path).toBe('/v1/images/generations');
    } finally {
      await provider.close();
    }
  });
});

describe('the image it returns', () => {
  it('is the bytes Together sent, labelled JPEG by their signature', async () => {
    const subject = await start();
    const image = await generate(subject, { ...REQUEST, seed: 7 });
    const seen = subject.fake.requests[0]?.body as Record<string, unknown>;
    const expected = expectedImageBytes({
      model: FAKE_TOGETHER_MODEL,
      prompt: REQUEST.prompt,
      width: 512,
      height: 384,
      steps: seen.steps as number,
      seed: 7,
      n: 1,
      responseFormat: 'base64',
      outputFormat: 'jpeg',
    });
    expect(image.mimeType).toBe('image/jpeg');
    expect(image.bytes.equals(expected)).toBe(true);
    expect(toDataUrl(image)).toBe(`data:image/jpeg;base64,${expected.toString('base64')}`);
  });

  it.each([
    ['PNG', 'image/png', (request: FakeGenerationRequest) => tinyPng(request.prompt)],
    ['WebP', 'image/webp', () => tinyWebp()],
    ['JPEG', 'image/jpeg', (request: FakeGenerationRequest) => tinyJpeg(request.prompt)],
  ])('is labelled %s when the bytes are %s, whatever was asked', async (_name, mimeType, bytesFor) => {
    const subject = await start({ fake: { imageBytes: bytesFor } });
    const image = await generate(subject);
    expect(image.mimeType).toBe(mimeType);
    expect(toDataUrl(image).startsWith(`data:${mimeType};base64,`)).toBe(true);
  });

  it('is refused as a retryable upstream failure when the bytes are no image at all', async () => {
    const subject = await start({ fake: { imageBytes: () => Buffer.from('<html>not an image</html>') } });
    await expect(generate(subject)).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      retryable: true,
      reason: 'not_an_image',
    });
  });
});

describe('HTTP statuses map to error codes', () => {
  it.each([
    [400, 'INVALID_REQUEST', false],
    [402, 'OUT_OF_CREDITS', false],
    [404, 'INVALID_REQUEST', false],
    [422, 'CONTENT_FLAGGED', false],
    [500, 'UPSTREAM_UNAVAILABLE', true],
    [503, 'UPSTREAM_UNAVAILABLE', true],
    [504, 'UPSTREAM_UNAVAILABLE', true],
    [520, 'UPSTREAM_UNAVAILABLE', true],
    [524, 'UPSTREAM_UNAVAILABLE', true],
    [529, 'UPSTREAM_UNAVAILABLE', true],
  ] as const)('HTTP %i is %s, retryable %s', async (status, code, retryable) => {
    const error = await failureAfter({ kind: 'status', status });
    expect(error).toMatchObject({ code, retryable, status, reason: `http_${status}` });
    expect(error.message).toContain(`HTTP ${status}`);
  });

  it('a wrong key is UPSTREAM_AUTH, not retryable, and tells the operator what to check', async () => {
    const subject = await start({ apiKey: 'not-the-key-the-fake-accepts' });
    const error = (await generate(subject).catch((thrown: unknown) => thrown)) as ProviderError;
    expect(error).toMatchObject({ code: 'UPSTREAM_AUTH', retryable: false, status: 401 });
    expect(error.message).toContain('TOGETHER_API_KEY');
    expect(subject.fake.requests[0]?.status).toBe(401);
  });

  it('an unknown model is INVALID_REQUEST, from the real 404 Together answers', async () => {
    const subject = await start({ model: 'black-forest-labs/FLUX.1-schnell-Free' });
    await expect(generate(subject)).rejects.toMatchObject({ code: 'INVALID_REQUEST', retryable: false, status: 404 });
  });

  it('a flagged prompt is CONTENT_FLAGGED, in our words', async () => {
    const error = await failureAfter(flagged());
    expect(error.code).toBe('CONTENT_FLAGGED');
    expect(error.message).toBe("The image service's safety checker flagged this prompt (HTTP 422); rephrase it.");
  });

  it('a Cloudflare HTML error page is not quoted into the message', async () => {
    const error = await failureAfter({ kind: 'status', status: 520 });
    expect(error.message).not.toMatch(/<|Cloudflare|Ray ID/);
  });

  it('a 503 that says how long to wait carries that wait', async () => {
    const error = await failureAfter({ kind: 'status', status: 503, headers: { 'retry-after': '3' } });
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryAfterMs: 3000 });
  });
});

describe('HTTP 429', () => {
  it('is RATE_LIMITED and retryable', async () => {
    const error = await failureAfter(rateLimited());
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryable: true, status: 429, retryAfterMs: undefined });
  });

  it('reads retry-after in seconds', async () => {
    const error = await failureAfter(rateLimited({ retryAfterSeconds: 2 }));
    expect(error.retryAfterMs).toBe(2000);
  });

  it('reads retry-after-ms, which wins over retry-after', async () => {
    const error = await failureAfter(rateLimited({ retryAfterMs: 250, retryAfterSeconds: 9 }));
    expect(error.retryAfterMs).toBe(250);
  });

  it('falls back to x-ratelimit-reset', async () => {
    const error = await failureAfter(rateLimited({ resetSeconds: 4 }));
    expect(error.retryAfterMs).toBe(4000);
  });

  it("reads the rate-limit mode's own headers", async () => {
    const subject = await start({ fake: { rateLimit: { maxInFlight: 1, retryAfterMs: 120 }, latencyMs: 2000 } });
    const first = generate(subject);
    await subject.fake.whenInFlight(1);
    await expect(generate(subject, { ...REQUEST, prompt: 'a second picture' })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterMs: 120,
    });
    await subject.close();
    await first.catch(() => undefined);
  });
});

describe('broken answers are retryable upstream failures', () => {
  it.each([
    ['a connection reset before any answer', { kind: 'reset' }, 'connection_reset'],
    ['a connection cut in the middle of the body', { kind: 'resetMidBody' }, 'connection_reset'],
    ['a 200 whose body is not JSON', { kind: 'malformedJson' }, 'malformed_json'],
    ['a 200 HTML page instead of JSON', { kind: 'wrongContentType' }, 'wrong_content_type'],
  ] as const)('%s', async (_name, behavior, reason) => {
    const error = await failureAfter(behavior);
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: true, reason });
    expect(error.message).not.toMatch(/<html|truncated/i);
  });

  it('a refused connection', async () => {
    const subject = await start();
    await subject.fake.close();
    await expect(generate(subject)).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      retryable: true,
      reason: 'connection_refused',
    });
  });

  it('a 200 without an image', async () => {
    const error = await failureAfter({ kind: 'status', status: 200, body: { data: [] } });
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: true, reason: 'no_image' });
  });
});

describe('an aborted attempt', () => {
  it('rejects at once and leaves the classification to the caller', async () => {
    const subject = await start({ fake: { behavior: { kind: 'hang' } } });
    const controller = new AbortController();
    const attempt = subject.provider.generate(REQUEST, controller.signal);
    await subject.fake.whenInFlight(1);
    controller.abort();
    const error = await attempt.catch((thrown: unknown) => thrown);
    expect(error).not.toBeInstanceOf(ProviderError);
    await expect.poll(() => subject.fake.requests[0]?.outcome).toBe('abandoned');
  });
});

describe("the upstream's own error message", () => {
  it.each([400, 404, 422, 500])('never reaches the error a client sees (HTTP %i)', async (status) => {
    const apiKey = `tgp_quoted_${Math.random().toString(36).slice(2)}`;
    const words = `Re-enter your password at http://evil.example/login; key ${apiKey} ${Buffer.from(apiKey).toString('base64')}`;
    const error = await failureAfter(
      { kind: 'status', status, body: errorBody(words, 'server_error') },
      { apiKey, fake: { apiKey } },
    );
    expect(error.message).toMatch(new RegExp(`HTTP ${status}`));
    expect(error.message).not.toMatch(/evil|password|tgp_quoted|REDACTED/);
    expect(error.message).not.toContain(Buffer.from(apiKey).toString('base64'));
  });

  it('is short and ours even when the upstream writes 5000 characters', async () => {
    const error = await failureAfter({
      kind: 'status',
      status: 400,
      body: errorBody('x'.repeat(5000), 'invalid_request_error'),
    });
    expect(error.message).not.toContain('xxxxxxxx');
    expect(error.message.length).toBeLessThan(200);
  });
});
