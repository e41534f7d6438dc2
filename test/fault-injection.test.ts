import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAKE_TOGETHER_API_KEY,
  errorBody,
  flagged,
  startFakeTogether,
  type FakeBehavior,
  type FakeTogether,
} from './support/fake-together.js';
import { GENERATE_MUTATION, postGraphQL } from './support/graphql-clients.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/**
 * A bad upstream, through the whole server: every kind of fault at once, each on its own batch, while a bystander
 * keeps generating. Every image must end in a final state with the right code, nothing may reject unhandled, and the
 * bystander must be served throughout.
 */
const attemptsByPrompt = new Map<string, number>();
const status = (code: number, body?: object): FakeBehavior => ({
  kind: 'status',
  status: code,
  ...(body ? { body } : {}),
});

/**
 * What the fake does for the n-th attempt (1-based) at a prompt, by the prompt's first word. No 429s here: a 429
 * pauses every request of the key, the bystander's too, so rate limits have their own tests
 * (upstream-rate-limits.test.ts), through the whole server as well.
 */
const SCENARIOS: Record<string, (attempt: number) => FakeBehavior> = {
  burst503: (attempt) => (attempt <= 2 ? status(503) : { kind: 'ok' }),
  always503: () => status(503),
  hung: () => ({ kind: 'hang' }),
  reset: () => ({ kind: 'resetMidBody' }),
  malformed: () => ({ kind: 'malformedJson' }),
  html: () => ({ kind: 'wrongContentType' }),
  flagged: () => flagged(),
  unauthorized: () => status(401, errorBody('Invalid API key', 'invalid_api_key')),
  broke: () => status(402, errorBody('Credit limit exceeded', 'billing')),
};

const EXPECTED: Record<string, { status: string; code: string | null; attempts?: number }> = {
  burst503: { status: 'SUCCEEDED', code: null, attempts: 3 },
  always503: { status: 'FAILED', code: 'UPSTREAM_UNAVAILABLE', attempts: 3 },
  hung: { status: 'FAILED', code: 'TIMEOUT', attempts: 3 },
  reset: { status: 'FAILED', code: 'UPSTREAM_UNAVAILABLE', attempts: 3 },
  malformed: { status: 'FAILED', code: 'UPSTREAM_UNAVAILABLE', attempts: 3 },
  html: { status: 'FAILED', code: 'UPSTREAM_UNAVAILABLE', attempts: 3 },
  flagged: { status: 'FAILED', code: 'CONTENT_FLAGGED', attempts: 1 },
  unauthorized: { status: 'FAILED', code: 'UPSTREAM_AUTH' },
  broke: { status: 'FAILED', code: 'OUT_OF_CREDITS' },
};

let fake: FakeTogether;
let server: TestServer;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  fake = await startFakeTogether({
    latencyMs: 20,
    behaviorFor: (request) => {
      const kind = request.prompt.split(' ')[0] ?? '';
      const scenario = SCENARIOS[kind];
      if (!scenario) return undefined;
      const attempt = (attemptsByPrompt.get(request.prompt) ?? 0) + 1;
      attemptsByPrompt.set(request.prompt, attempt);
      return scenario(attempt);
    },
  });
  server = await startTestServer({
    TOGETHER_API_KEY: FAKE_TOGETHER_API_KEY,
    TOGETHER_BASE_URL: fake.url,
    GENERATION_MAX_ATTEMPTS: '3',
    // Long enough that a 20 ms answer never times out on a loaded machine; the hung scenario still ends in TIMEOUT.
    UPSTREAM_TIMEOUT_MS: '1500',
    RATE_LIMIT_MAX_WAIT_MS: '2000',
    QUOTA_IMAGES_PER_MINUTE: '0',
  });
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await server.close();
  await fake.close();
});

interface Result {
  id: string;
  status: string;
  attempts: number;
  error: { code: string; message: string } | null;
}

async function batch(kind: string, count: number): Promise<{ status: string; results: Result[] }> {
  const images = Array.from({ length: count }, (_, index) => ({
    id: `0-${index}`,
    prompt: `${kind} picture ${index}`,
    width: 256,
    height: 256,
  }));
  const { body } = await postGraphQL(server.url, GENERATE_MUTATION, { input: { images } });
  expect(body.errors).toBeUndefined();
  return (body.data as { generateWorksheetImages: { status: string; results: Result[] } }).generateWorksheetImages;
}

describe('a bad upstream', () => {
  it('ends every image in the right final state, rejects nothing unhandled, and keeps serving others', async () => {
    let bystanderRunning = true;
    const bystanderResults: string[] = [];
    const bystander = (async () => {
      let round = 0;
      while (bystanderRunning && round < 200) {
        const job = await batch(`fine${round++}`, 2);
        bystanderResults.push(...job.results.map((result) => result.status));
        const health = await fetch(server.url.replace(/\/graphql$/, '/health'));
        bystanderResults.push(health.ok ? 'HEALTHY' : `health ${health.status}`);
      }
    })();

    const outcomes = await Promise.all(
      Object.keys(SCENARIOS).map(async (kind) => [kind, await batch(kind, 3)] as const),
    );
    bystanderRunning = false;
    await bystander;

    for (const [kind, job] of outcomes) {
      const expected = EXPECTED[kind]!;
      expect(job.status, kind).toBe('COMPLETED');
      for (const result of job.results) {
        expect({ kind, status: result.status, code: result.error?.code ?? null }).toEqual({
          kind,
          status: expected.status,
          code: expected.code,
        });
        if (expected.attempts !== undefined) expect(result.attempts, kind).toBe(expected.attempts);
        if (result.error) expect(result.error.message.length, kind).toBeGreaterThan(10);
      }
    }
    // 401 and 402 stop their batch: fewer requests than images reached the fake for them.
    for (const kind of ['unauthorized', 'broke']) {
      const sent = [...attemptsByPrompt.entries()].filter(([prompt]) => prompt.startsWith(kind)).length;
      expect(sent, kind).toBeLessThan(3);
    }
    expect(bystanderResults.length).toBeGreaterThan(2);
    expect(bystanderResults.every((result) => result === 'SUCCEEDED' || result === 'HEALTHY')).toBe(true);
    expect(unhandled).toEqual([]);
  });
});
