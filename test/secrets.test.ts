import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchResult } from '../src/generation/types.js';
import { errorBody, type FakeBehavior } from './support/fake-together.js';
import {
  imageRequests,
  startGenerationHarness,
  type GenerationHarness,
  type GenerationHarnessOptions,
} from './support/generation-harness.js';

/** A key no real service would issue, so finding it anywhere can only mean it leaked. */
const CANARY = `tgp_canary_${randomBytes(12).toString('hex')}`;

let harness: GenerationHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/**
 * The real service and provider using the canary as their key. The logger is not told the key (logSecrets: []), so
 * these tests prove the code never writes it, rather than that the logger's last-line scrubbing hides it.
 */
async function start(options: GenerationHarnessOptions = {}): Promise<GenerationHarness> {
  harness = await startGenerationHarness({
    apiKey: CANARY,
    logSecrets: [],
    maxAttempts: 2,
    ...options,
    fake: { apiKey: CANARY, ...options.fake },
  });
  return harness;
}

function everythingSaidAbout(value: unknown): string {
  return `${inspect(value, { depth: null, showHidden: true, maxStringLength: null, maxArrayLength: null })}\n${
    value instanceof Error ? `${String(value)}\n${value.stack ?? ''}\n${JSON.stringify(value)}` : ''
  }`;
}

function expectNoCanaryIn(what: string, value: unknown): void {
  expect(everythingSaidAbout(value).includes(CANARY), `${what} contains the API key`).toBe(false);
}

function expectBatchClean(batch: BatchResult, subject: GenerationHarness): void {
  expectNoCanaryIn('the batch result', batch);
  expectNoCanaryIn('the batch as JSON', JSON.stringify(batch));
  for (const result of batch.results) {
    expect(result.error?.message ?? '').not.toContain(CANARY);
    expect(result.image?.bytes.toString('latin1') ?? '').not.toContain(CANARY);
  }
  const logs = subject.logLines();
  expect(logs.length).toBeGreaterThan(0);
  for (const line of logs)
    expect(line.includes(CANARY), `a log line contains the API key: ${line.slice(0, 200)}`).toBe(false);
}

/** The upstream really was sent the canary: otherwise not finding it would prove nothing. */
function expectCanaryWasSent(subject: GenerationHarness): void {
  expect(subject.fake.requests.length).toBeGreaterThan(0);
  for (const request of subject.fake.requests) expect(request.headers.authorization).toBe(`Bearer ${CANARY}`);
}

const quotingKey = (status: number): FakeBehavior => ({
  kind: 'status',
  status,
  body: errorBody(`The key ${CANARY} was used for this request and it failed`, 'invalid_request_error'),
});

describe('the API key never leaves the server', () => {
  it('on success', async () => {
    const subject = await start();
    const batch = await subject.service.generateBatch(imageRequests(3));
    expect(batch.stats.successful).toBe(3);
    expectCanaryWasSent(subject);
    expectBatchClean(batch, subject);
  });

  it.each([
    ['a 401 whose body quotes the key', 401, 'UPSTREAM_AUTH'],
    ['a 500 whose message quotes the key', 500, 'UPSTREAM_UNAVAILABLE'],
    ['a 400 whose message quotes the key', 400, 'INVALID_REQUEST'],
    ['a 422 whose message quotes the key', 422, 'CONTENT_FLAGGED'],
    ['a 503 whose message quotes the key', 503, 'UPSTREAM_UNAVAILABLE'],
  ] as const)('on %s', async (_name, status, code) => {
    const subject = await start({ fake: { behavior: quotingKey(status) } });
    const batch = await subject.service.generateBatch(imageRequests(2));
    expect(batch.results.map((result) => result.error?.code)).toEqual([code, code]);
    expectCanaryWasSent(subject);
    expectBatchClean(batch, subject);
  });

  it('on a timeout', async () => {
    const subject = await start({ upstreamTimeoutMs: 200, fake: { behavior: { kind: 'hang' } } });
    const batch = await subject.service.generateBatch(imageRequests(2));
    expect(batch.results.map((result) => result.error?.code)).toEqual(['TIMEOUT', 'TIMEOUT']);
    expectCanaryWasSent(subject);
    expectBatchClean(batch, subject);
  });

  it('on broken connections and answers', async () => {
    const subject = await start({ maxAttempts: 4 });
    subject.fake.enqueue(
      { kind: 'reset' },
      { kind: 'resetMidBody' },
      { kind: 'malformedJson' },
      { kind: 'wrongContentType' },
    );
    const batch = await subject.service.generateBatch(imageRequests(1));
    expect(batch.results[0]?.error?.code).toBe('UPSTREAM_UNAVAILABLE');
    expectBatchClean(batch, subject);
  });

  it('on cancellation', async () => {
    const subject = await start({ fake: { latencyMs: 5_000 } });
    const controller = new AbortController();
    const running = subject.service.generateBatch(imageRequests(2), { signal: controller.signal });
    await subject.fake.whenInFlight(2);
    controller.abort();
    const batch = await running;
    expect(batch.status).toBe('CANCELLED');
    expectBatchClean(batch, subject);
  });
});

describe('errors thrown by the provider carry no key', () => {
  it.each([
    ['401', quotingKey(401)],
    ['500', quotingKey(500)],
    ['400', quotingKey(400)],
    ['429', { kind: 'status', status: 429, body: errorBody(`rate limit for ${CANARY}`, 'model_rate_limit') }],
    ['a reset', { kind: 'reset' }],
    ['malformed JSON', { kind: 'malformedJson' }],
  ] as const)('after %s', async (_name, behavior) => {
    const subject = await start();
    subject.fake.enqueue(behavior);
    const thrown = await subject.provider
      .generate({ prompt: 'a cat', width: 512, height: 512 }, new AbortController().signal)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(thrown).toBeInstanceOf(Error);
    expectNoCanaryIn('the thrown error', thrown);
  });

  it('when the attempt is aborted', async () => {
    const subject = await start({ fake: { behavior: { kind: 'hang' } } });
    const controller = new AbortController();
    const attempt = subject.provider.generate({ prompt: 'a cat', width: 512, height: 512 }, controller.signal);
    await subject.fake.whenInFlight(1);
    controller.abort();
    const thrown = await attempt.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(Error);
    expectNoCanaryIn('the thrown error', thrown);
  });

  it('not even in the provider object itself when it is logged or inspected', async () => {
    const subject = await start();
    subject.logger.info({ provider: subject.provider }, 'provider in use');
    expectNoCanaryIn('the provider', subject.provider);
    for (const line of subject.logLines()) expect(line).not.toContain(CANARY);
  });
});

describe('the logger, as the server builds it', () => {
  it('scrubs the key from any line, as a last line of defence', async () => {
    const subject = await start({ logSecrets: [CANARY] });
    subject.logger.error({ apiKey: CANARY, detail: `upstream said ${CANARY}` }, `failed with ${CANARY}`);
    const lines = subject.logLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(CANARY);
    expect(lines[0]).toContain('[REDACTED]');
  });
});
