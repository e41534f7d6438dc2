import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  FAKE_TOGETHER_MODEL,
  expectedImageBytes,
  flagged,
  rateLimited,
  startFakeTogether,
  type FakeGenerationRequest,
  type FakeTogether,
} from './support/fake-together.js';
import { isJpeg, isPng, isWebp, randomJpegOfSize, tinyJpeg, tinyPng, tinyWebp } from './support/test-images.js';

const VALID_BODY = {
  model: FAKE_TOGETHER_MODEL,
  prompt: 'a red apple on a school desk',
  width: 512,
  height: 512,
  steps: 4,
  seed: 7,
  n: 1,
  response_format: 'base64',
};

interface GenerateOptions {
  apiKey?: string;
  signal?: AbortSignal;
  contentType?: string;
}

function generate(
  fake: FakeTogether,
  overrides: Record<string, unknown> = {},
  options: GenerateOptions = {},
): Promise<Response> {
  const init: RequestInit = {
    method: 'POST',
    headers: {
      authorization: `Bearer ${options.apiKey ?? fake.apiKey}`,
      'content-type': options.contentType ?? 'application/json',
    },
    body: JSON.stringify({ ...VALID_BODY, ...overrides }),
  };
  if (options.signal) init.signal = options.signal;
  return fetch(`${fake.url}/images/generations`, init);
}

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

interface SuccessBody {
  id: string;
  model: string;
  object: string;
  data: Array<{ index: number; b64_json?: string; url?: string; type: null; timings: { inference: number } }>;
}

let fake: FakeTogether;

beforeEach(async () => {
  fake = await startFakeTogether();
});

afterEach(async () => {
  await fake.close();
});

describe('a successful generation', () => {
  it('answers in Together wire format with a base64 JPEG', async () => {
    const response = await generate(fake);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as SuccessBody;
    expect(Object.keys(body)).toEqual(['id', 'model', 'object', 'data']);
    expect(body).toMatchObject({ model: FAKE_TOGETHER_MODEL, object: 'list' });
    expect(body.data).toHaveLength(1);
    const item = body.data[0];
    expect(Object.keys(item ?? {})).toEqual(['index', 'b64_json', 'type', 'timings']);
    expect(item).toMatchObject({ index: 0, type: null, timings: { inference: expect.any(Number) } });
    const bytes = Buffer.from(item?.b64_json ?? '', 'base64');
    expect(isJpeg(bytes)).toBe(true);
    expect(bytes.equals(expectedImageBytes(requestOf(VALID_BODY)))).toBe(true);
  });

  it('returns PNG bytes when output_format is png', async () => {
    const body = (await (await generate(fake, { output_format: 'png' })).json()) as SuccessBody;
    const bytes = Buffer.from(body.data[0]?.b64_json ?? '', 'base64');
    expect(isPng(bytes)).toBe(true);
    expect(isJpeg(bytes)).toBe(false);
  });

  it('gives distinct prompts distinct bytes and repeats the same prompt and seed exactly', async () => {
    const imageOf = async (prompt: string): Promise<string> => {
      const body = (await (await generate(fake, { prompt })).json()) as SuccessBody;
      return body.data[0]?.b64_json ?? '';
    };
    const apple = await imageOf('an apple');
    expect(await imageOf('a pear')).not.toBe(apple);
    expect(await imageOf('an apple')).toBe(apple);
  });

  it('returns one item per image asked with n', async () => {
    const body = (await (await generate(fake, { n: 3 })).json()) as SuccessBody;
    expect(body.data.map((item) => item.index)).toEqual([0, 1, 2]);
    expect(new Set(body.data.map((item) => item.b64_json)).size).toBe(3);
  });

  it('answers response_format "url" with a URL that serves the image bytes', async () => {
    const body = (await (await generate(fake, { response_format: 'url' })).json()) as SuccessBody;
    const item = body.data[0];
    expect(item?.b64_json).toBeUndefined();
    const image = await fetch(item?.url ?? '');
    expect(image.headers.get('content-type')).toBe('image/jpeg');
    expect(isJpeg(Buffer.from(await image.arrayBuffer()))).toBe(true);
    expect(fake.counters.downloads).toBe(1);
    expect(fake.counters.requests).toBe(1);
  });

  it('uses the imageBytes option in place of its own images', async () => {
    await fake.close();
    const large = randomJpegOfSize(1_500_000);
    fake = await startFakeTogether({ imageBytes: () => large });
    const body = (await (await generate(fake)).json()) as SuccessBody;
    expect(Buffer.from(body.data[0]?.b64_json ?? '', 'base64').equals(large)).toBe(true);
  });

  it('records each request with its parsed body', async () => {
    await generate(fake, { prompt: 'a globe' });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/images/generations',
      body: { prompt: 'a globe', width: 512 },
      status: 200,
      outcome: 'answered',
    });
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
  });
});

describe('validation like the real API', () => {
  it('rejects a wrong API key with 401 invalid_api_key and never echoes the key', async () => {
    const response = await generate(fake, {}, { apiKey: 'sk-wrong-secret-123' });
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(text).not.toContain('sk-wrong-secret-123');
    expect((JSON.parse(text) as ErrorBody).error.type).toBe('invalid_api_key');
  });

  it('rejects a missing Authorization header with 401', async () => {
    const response = await fetch(`${fake.url}/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(VALID_BODY),
    });
    expect(response.status).toBe(401);
  });

  it('rejects response_format "b64_json" with 400 naming response_format', async () => {
    const response = await generate(fake, { response_format: 'b64_json' });
    expect(response.status).toBe(400);
    const body = (await response.json()) as ErrorBody;
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'response_format', code: null });
    expect(body.error.message).toContain('response_format');
  });

  it.each([
    { field: 'width', value: 500 },
    { field: 'height', value: 520 },
    { field: 'width', value: 48 },
    { field: 'height', value: 1808 },
    { field: 'width', value: '512' },
    { field: 'steps', value: 0 },
    { field: 'steps', value: 51 },
    { field: 'seed', value: 1.5 },
    { field: 'seed', value: null },
    { field: 'prompt', value: '' },
    { field: 'output_format', value: 'webp' },
  ])('rejects $field $value with 400 naming $field', async ({ field, value }) => {
    const response = await generate(fake, { [field]: value });
    expect(response.status).toBe(400);
    const body = (await response.json()) as ErrorBody;
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: field });
    expect(body.error.message).toContain(field);
  });

  it('accepts sides at the configured bounds', async () => {
    expect((await generate(fake, { width: 64, height: 1792 })).status).toBe(200);
  });

  it('requires Content-Type application/json', async () => {
    const response = await generate(fake, {}, { contentType: 'text/plain' });
    expect(response.status).toBe(400);
  });

  it('answers 404 for an unknown model, in Together error shape', async () => {
    const response = await generate(fake, { model: 'black-forest-labs/FLUX.1-schnell-Free' });
    expect(response.status).toBe(404);
    const body = (await response.json()) as ErrorBody;
    expect(Object.keys(body.error)).toEqual(['message', 'type', 'param', 'code']);
  });

  it('answers 404 for any other path, in Together error shape', async () => {
    const response = await fetch(`${fake.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}` },
    });
    expect(response.status).toBe(404);
    const body = (await response.json()) as ErrorBody;
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
  });

  it('does not consume scripted behaviors for invalid requests', async () => {
    fake.enqueue({ kind: 'status', status: 500 });
    expect((await generate(fake, { width: 500 })).status).toBe(400);
    expect((await generate(fake)).status).toBe(500);
  });
});

describe('scripted faults', () => {
  it('sends a scripted 429 with its retry-after headers', async () => {
    fake.enqueue(rateLimited({ retryAfterSeconds: 2, retryAfterMs: 1500, resetSeconds: 4 }));
    const response = await generate(fake);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(response.headers.get('retry-after-ms')).toBe('1500');
    expect(response.headers.get('x-ratelimit-reset')).toBe('4');
    expect(((await response.json()) as ErrorBody).error.type).toBe('model_rate_limit');
  });

  it('consumes queued behaviors in order, then falls back to the default, and counts every answer', async () => {
    fake.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const statuses = [];
    for (let attempt = 0; attempt < 3; attempt += 1) statuses.push((await generate(fake)).status);
    expect(statuses).toEqual([500, 503, 200]);
    expect(fake.counters).toMatchObject({ requests: 3, generations: 3, responsesByStatus: { 200: 1, 500: 1, 503: 1 } });
  });

  it('sends a custom body and headers for a scripted status', async () => {
    fake.setBehavior({
      kind: 'status',
      status: 402,
      body: { error: { message: 'no credit' } },
      headers: { 'X-Extra': 'yes' },
    });
    const response = await generate(fake);
    expect(response.status).toBe(402);
    expect(response.headers.get('x-extra')).toBe('yes');
    expect(await response.json()).toEqual({ error: { message: 'no credit' } });
  });

  it('answers 520 and 524 with an HTML page, as Cloudflare does', async () => {
    fake.enqueue({ kind: 'status', status: 524 });
    const response = await generate(fake);
    expect(response.status).toBe(524);
    expect(response.headers.get('content-type')).toContain('text/html');
  });

  it('flags one specific prompt with 422 through behaviorFor', async () => {
    await fake.close();
    fake = await startFakeTogether({
      behaviorFor: (request) => (request.prompt.includes('forbidden') ? flagged() : undefined),
    });
    const flaggedResponse = await generate(fake, { prompt: 'a forbidden picture' });
    expect(flaggedResponse.status).toBe(422);
    const body = (await flaggedResponse.json()) as ErrorBody;
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/safety checker/i);
    expect((await generate(fake, { prompt: 'a tidy classroom' })).status).toBe(200);
  });

  it('hangs until the client aborts, and records the request as abandoned', async () => {
    fake.setBehavior({ kind: 'hang' });
    const controller = new AbortController();
    const pending = generate(fake, {}, { signal: controller.signal });
    await fake.whenInFlight(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await vi.waitFor(() => expect(fake.inFlight).toBe(0));
    expect(fake.requests[0]?.outcome).toBe('abandoned');
    expect(fake.counters.abandoned).toBe(1);
  });

  it('hangs until close(), which ends the request and returns promptly', async () => {
    fake.setBehavior({ kind: 'hang' });
    const pending = generate(fake);
    const settled = pending.then(
      () => 'answered',
      () => 'failed',
    );
    await fake.whenInFlight(1);
    const started = performance.now();
    await fake.close();
    expect(await settled).toBe('failed');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('makes fetch fail when it resets the connection', async () => {
    fake.enqueue({ kind: 'reset' });
    await expect(generate(fake)).rejects.toThrow(TypeError);
    expect(fake.requests[0]?.outcome).toBe('dropped');
    expect((await generate(fake)).status).toBe(200);
  });

  it('sends headers and then cuts the body short for resetMidBody', async () => {
    fake.enqueue({ kind: 'resetMidBody' });
    const response = await generate(fake);
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
  });

  it('answers 200 with invalid JSON for malformedJson', async () => {
    fake.enqueue({ kind: 'malformedJson' });
    const response = await generate(fake);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const text = await response.text();
    expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);
  });

  it('answers 200 with an HTML page for wrongContentType', async () => {
    fake.enqueue({ kind: 'wrongContentType' });
    const response = await generate(fake);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain('<html');
  });

  it('rejects a scripted status outside HTTP range with a TypeError naming it', () => {
    expect(() => fake.enqueue({ kind: 'status', status: 42 })).toThrow(/status/);
  });
});

describe('token-bucket mode', () => {
  it('passes a burst, then answers 429 with retry-after in whole seconds until the next token', async () => {
    fake.setTokenBucket({ ratePerSecond: 2, burst: 2 });
    const [first, second, third] = [await generate(fake), await generate(fake), await generate(fake)];
    expect([first.status, second.status, third.status]).toEqual([200, 200, 429]);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    // Until the bucket is full again: one token at 2/s, give or take what refilled meanwhile.
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0.3);
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeLessThanOrEqual(0.5);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(third.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(((await third.json()) as ErrorBody).error.type).toBe('model_rate_limit');
    expect(fake.counters.responsesByStatus).toEqual({ 200: 2, 429: 1 });
  });

  it.each([
    ['milliseconds', 'retry-after-ms', /^\d+$/],
    ['zero', 'retry-after', /^0$/],
    ['negative', 'retry-after', /^-1$/],
    ['huge', 'retry-after', /^86400$/],
    ['http-date', 'retry-after', /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/],
  ] as const)('can say when to come back as %s', async (style, header, pattern) => {
    fake.setTokenBucket({ ratePerSecond: 1, burst: 1, retryAfter: style });
    await generate(fake);
    const refused = await generate(fake);
    expect(refused.status).toBe(429);
    expect(refused.headers.get(header)).toMatch(pattern);
  });

  it('can leave out retry-after and the x-ratelimit-* headers', async () => {
    fake.setTokenBucket({ ratePerSecond: 1, burst: 1, retryAfter: 'missing', headers: false });
    expect((await generate(fake)).headers.get('x-ratelimit-limit')).toBeNull();
    const refused = await generate(fake);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBeNull();
    expect(refused.headers.get('x-ratelimit-remaining')).toBeNull();
  });

  it('flags a request that arrives before the retry-after it was given has passed, and not one after', async () => {
    fake.enqueue(rateLimited({ retryAfterMs: 300 }));
    expect((await generate(fake)).status).toBe(429);
    expect((await generate(fake)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await generate(fake)).status).toBe(200);
    expect(fake.requests.map((request) => request.early)).toEqual([false, true, false]);
    expect(fake.counters.earlyArrivals).toBe(1);
    fake.reset();
    expect(fake.counters.earlyArrivals).toBe(0);
  });
});

describe('concurrency and latency', () => {
  it('answers 429 at once in rate-limit mode while maxInFlight requests are in progress', async () => {
    fake.setRateLimit({ maxInFlight: 2, retryAfterSeconds: 3, retryAfterMs: 2500 });
    fake.setBehavior({ kind: 'hang' });
    const controller = new AbortController();
    const held = [1, 2].map((index) =>
      generate(fake, { prompt: `held ${index}` }, { signal: controller.signal }).catch((error: unknown) => error),
    );
    await fake.whenInFlight(2);

    const limited = await generate(fake, { prompt: 'one too many' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(limited.headers.get('retry-after-ms')).toBe('2500');
    expect(limited.headers.get('x-ratelimit-limit')).toBe('2');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(((await limited.json()) as ErrorBody).error.type).toBe('model_rate_limit');
    expect(fake.inFlight).toBe(2);
    expect(fake.maxInFlight).toBe(2);

    controller.abort();
    await Promise.all(held);
    await vi.waitFor(() => expect(fake.inFlight).toBe(0));
    fake.setBehavior({ kind: 'ok' });
    expect((await generate(fake)).status).toBe(200);
  });

  it('sends no retry-after in rate-limit mode unless configured', async () => {
    fake.setRateLimit({ maxInFlight: 0 });
    const response = await generate(fake);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(response.headers.get('retry-after-ms')).toBeNull();
    expect(response.headers.get('x-ratelimit-limit')).toBe('0');
  });

  it('records the peak number of requests in flight', async () => {
    fake.setBehavior({ kind: 'hang' });
    const controller = new AbortController();
    const held = [1, 2, 3].map((index) =>
      generate(fake, { prompt: `held ${index}` }, { signal: controller.signal }).catch((error: unknown) => error),
    );
    await fake.whenInFlight(3);
    controller.abort();
    await Promise.all(held);
    await vi.waitFor(() => expect(fake.inFlight).toBe(0));
    expect(fake.maxInFlight).toBe(3);
    expect(fake.counters).toMatchObject({ generations: 3, abandoned: 3 });
  });

  it('applies latency before answering', async () => {
    const latencyMs = 400;
    fake.setLatency(latencyMs);
    const started = performance.now();
    const response = await generate(fake);
    const elapsed = performance.now() - started;
    // Timers count whole milliseconds, so allow one for rounding; everything else only adds time.
    expect(elapsed).toBeGreaterThanOrEqual(latencyMs - 1);
    const body = (await response.json()) as SuccessBody;
    expect(body.data[0]?.timings.inference).toBeGreaterThanOrEqual((latencyMs - 1) / 1000);
  });

  it('stops waiting quietly when the client aborts during latency', async () => {
    fake.setLatency(60_000);
    const controller = new AbortController();
    const pending = generate(fake, {}, { signal: controller.signal });
    await fake.whenInFlight(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await vi.waitFor(() => expect(fake.inFlight).toBe(0));
    expect(fake.counters.responsesByStatus).toEqual({});
  });

  it('reset() forgets requests, counters and the queue', async () => {
    fake.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    await generate(fake);
    fake.reset();
    expect(fake.requests).toHaveLength(0);
    expect(fake.counters.requests).toBe(0);
    expect((await generate(fake)).status).toBe(200);
  });
});

describe('test images', () => {
  it('builds fixtures with the right signatures', () => {
    expect(isJpeg(tinyJpeg())).toBe(true);
    expect(isPng(tinyPng())).toBe(true);
    expect(isWebp(tinyWebp())).toBe(true);
    expect(tinyJpeg('a').equals(tinyJpeg('b'))).toBe(false);
    expect(tinyJpeg('a').equals(tinyJpeg('a'))).toBe(true);
  });

  it('builds a random JPEG of exactly the size asked', () => {
    for (const size of [1_500_000, 65_541 + 200, 2_000]) {
      const bytes = randomJpegOfSize(size);
      expect(bytes.length).toBe(size);
      expect(isJpeg(bytes)).toBe(true);
      expect(bytes.subarray(-2).equals(Buffer.from([0xff, 0xd9]))).toBe(true);
    }
    expect(() => randomJpegOfSize(10)).toThrow(RangeError);
  });
});

function requestOf(body: typeof VALID_BODY): FakeGenerationRequest {
  return {
    model: body.model,
    prompt: body.prompt,
    width: body.width,
    height: body.height,
    steps: body.steps,
    seed: body.seed,
    n: body.n,
    responseFormat: 'base64',
    outputFormat: 'jpeg',
  };
}
