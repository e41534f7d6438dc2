import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATE_MUTATION, images } from './support/graphql-clients.js';
import { FAKE_TOGETHER_API_KEY, startFakeTogether, type FakeTogether } from './support/fake-together.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let fake: FakeTogether;
let server: TestServer;

beforeAll(async () => {
  fake = await startFakeTogether();
  server = await startTestServer({
    NODE_ENV: 'production',
    TOGETHER_API_KEY: FAKE_TOGETHER_API_KEY,
    TOGETHER_BASE_URL: fake.url,
    MAX_BODY_BYTES: String(1024 * 1024),
  });
});
afterAll(async () => {
  await server.close();
  await fake.close();
});

interface Answer {
  status: number;
  text: string;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };

async function raw(init: RequestInit & { path?: string } = {}): Promise<Answer> {
  const response = await fetch(server.url + (init.path ?? ''), init);
  return { status: response.status, text: await response.text() };
}

const body = (payload: unknown, headers: Record<string, string> = JSON_HEADERS) =>
  raw({ method: 'POST', headers, body: typeof payload === 'string' ? payload : JSON.stringify(payload) });

const generate = (input: unknown) => body({ query: GENERATE_MUTATION, variables: { input } });

const image = (overrides: Record<string, unknown> = {}) => ({
  id: '0-0',
  prompt: 'A red kite',
  width: 256,
  height: 256,
  ...overrides,
});

const generateOne = (overrides: Record<string, unknown>) => generate({ images: [image(overrides)] });

/**
 * One header line over Node's 16 KiB limit, sent with node:http (fetch would refuse to send it). 20 KiB, not more:
 * the server must read the whole request before it answers 431 and closes, or the kernel resets the connection for
 * the unread bytes and the client never sees the 431 (what a 64 KiB header does on Node 24, every time).
 */
function oversizedHeader(): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      server.url,
      { method: 'POST', headers: { ...JSON_HEADERS, 'x-padding': 'x'.repeat(20 * 1024) } },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify({ query: '{ __typename }' }));
  });
}

/** A GraphQL multipart upload request, as a cross-site form could send it. */
function multipart(): FormData {
  const form = new FormData();
  form.set(
    'operations',
    JSON.stringify({ query: 'mutation { generateImage(prompt: "x", width: 256, height: 256) { id } }' }),
  );
  form.set('map', '{}');
  return form;
}

type Expectation = { status?: number; code?: string; message?: RegExp };

const cases: Array<[string, () => Promise<Answer>, Expectation]> = [
  // Prompts
  [
    'a 1 MB prompt',
    () => generateOne({ prompt: 'x'.repeat(1_000_000) }),
    { code: 'BAD_USER_INPUT', message: /at most 2000 characters/ },
  ],
  [
    'a NUL byte in the prompt',
    () => generateOne({ prompt: 'kite\u0000' }),
    { code: 'BAD_USER_INPUT', message: /control characters/ },
  ],
  [
    'ANSI escape sequences in the prompt',
    () => generateOne({ prompt: '\u001b[31mred\u001b[0m kite' }),
    { code: 'BAD_USER_INPUT', message: /control characters/ },
  ],
  [
    'a DEL character in the prompt',
    () => generateOne({ prompt: 'kite\u007f' }),
    { code: 'BAD_USER_INPUT', message: /control characters/ },
  ],
  [
    'a blank prompt of Unicode spaces',
    () => generateOne({ prompt: '\u2003\u3000\n\t ' }),
    { code: 'BAD_USER_INPUT', message: /empty or blank/ },
  ],
  [
    'an emoji prompt over the length limit',
    () => generateOne({ prompt: '🐘'.repeat(1001) }),
    { code: 'BAD_USER_INPUT', message: /at most 2000 characters/ },
  ],
  [
    'an id of right-to-left overrides and emoji over 128 characters',
    () => generateOne({ id: '\u202E🐘'.repeat(100) }),
    { code: 'BAD_USER_INPUT', message: /id must be at most 128/ },
  ],
  [
    'a prompt that is a number',
    () => generateOne({ prompt: 42 }),
    { status: 400, message: /String cannot represent a non string value/ },
  ],
  [
    'a prompt that is an object',
    () => generateOne({ prompt: { toString: 'x' } }),
    { status: 400, message: /String cannot represent/ },
  ],
  ['a null prompt', () => generateOne({ prompt: null }), { status: 400, message: /not to be null/ }],
  // Numbers
  [
    'a width of 1e308',
    () => generateOne({ width: 1e308 }),
    { status: 400, message: /Int cannot represent non-integer value|non 32-bit/ },
  ],
  ['a width of 2^53', () => generateOne({ width: 2 ** 53 }), { status: 400, message: /non 32-bit signed integer/ }],
  ['a width of -0', () => generateOne({ width: -0 }), { code: 'BAD_USER_INPUT', message: /width must be at least 64/ }],
  ['a width of "NaN"', () => generateOne({ width: 'NaN' }), { status: 400, message: /Int cannot represent/ }],
  [
    'a fractional height',
    () => generateOne({ height: 256.5 }),
    { status: 400, message: /Int cannot represent non-integer/ },
  ],
  ['a negative seed', () => generateOne({ seed: -1 }), { code: 'BAD_USER_INPUT', message: /seed must be at least 0/ }],
  ['a seed of 2^31', () => generateOne({ seed: 2 ** 31 }), { status: 400, message: /non 32-bit signed integer/ }],
  [
    'a width literal of 99999999999999999999 in the query',
    () => body({ query: 'mutation { generateImage(prompt: "x", width: 99999999999999999999, height: 256) { id } }' }),
    { status: 400, message: /Int cannot represent/ },
  ],
  // Batches
  ['null images', () => generate({ images: null }), { status: 400, message: /not to be null/ }],
  [
    'images that are a string, not a list',
    () => generate({ images: 'many pictures' }),
    { status: 400, message: /Expected type "ImageRequestInput" to be an object/ },
  ],
  ['an empty batch', () => generate({ images: [] }), { code: 'BAD_USER_INPUT', message: /at least 1 image/ }],
  [
    'a 10 000-image batch',
    () => generate({ images: images(10_000) }),
    { code: 'BAD_USER_INPUT', message: /at most 100 images/ },
  ],
  [
    'a 10 000-character jobId',
    () => generate({ jobId: 'j'.repeat(10_000), images: [image()] }),
    { code: 'BAD_USER_INPUT', message: /jobId must be at most 128/ },
  ],
  [
    'a giant variables object of 40 000 unknown input fields',
    () =>
      generate({
        images: [image()],
        ...Object.fromEntries(Array.from({ length: 40_000 }, (_, index) => [`f${index}`, index])),
      }),
    { status: 400, message: /is not defined by type/ },
  ],
  [
    '50 000 levels of nested arrays as images',
    () =>
      body(
        `{"query":${JSON.stringify(GENERATE_MUTATION)},"variables":{"input":{"images":${'['.repeat(50_000)}${']'.repeat(50_000)}}}}`,
      ),
    { status: 400 },
  ],
  [
    'a __proto__ key in the input',
    () =>
      body(
        `{"query":${JSON.stringify(GENERATE_MUTATION)},"variables":{"input":{"images":[${JSON.stringify(image())}],"__proto__":{"polluted":true}}}}`,
      ),
    { status: 400, message: /__proto__/ },
  ],
  // Documents
  [
    'a query nested 50 levels deep',
    () => body({ query: `{ generationJob(id: "x") { ${'results { '.repeat(50)}id${' }'.repeat(50)} } }` }),
    { status: 400 },
  ],
  [
    'a query 1000 fields wide',
    () => body({ query: `{ generationJob(id: "x") { ${'id '.repeat(1000)}} }` }),
    { status: 400, message: /Cost limit/ },
  ],
  [
    'a query of 5000 tokens',
    () => body({ query: `{ ${'__typename '.repeat(5000)}}` }),
    { status: 400, message: /Token limit/ },
  ],
  [
    'an unknown operation name',
    () => body({ query: '{ __typename }', operationName: 'Nope' }),
    { status: 400, message: /Could not determine what operation to execute/ },
  ],
  [
    'two operations without an operation name',
    () => body({ query: 'query A { __typename } query B { __typename }' }),
    { status: 400, message: /Could not determine what operation to execute/ },
  ],
  ['a query that is a number', () => body({ query: 42 }), { status: 400 }],
  ['no query at all', () => body({ variables: {} }), { status: 400 }],
  ['variables that are a string', () => body({ query: '{ __typename }', variables: 'x' }), { status: 400 }],
  [
    'a NUL byte inside the document',
    () => body({ query: '{ __typename \u0000 }' }),
    { status: 400, message: /Syntax Error/ },
  ],
  // Bodies and transports
  ['invalid JSON', () => body('{"query": "{ __typename }"'), { status: 400, message: /invalid JSON/ }],
  ['an empty body', () => body(''), { status: 400 }],
  ['a text/plain body', () => body({ query: '{ __typename }' }, { 'content-type': 'text/plain' }), { status: 403 }],
  ['a multipart body', () => raw({ method: 'POST', body: multipart() }), { status: 403 }],
  ['an XML body', () => body('<query>{ __typename }</query>', { 'content-type': 'application/xml' }), { status: 415 }],
  [
    'a body over MAX_BODY_BYTES',
    () => generate({ images: [image({ prompt: 'x'.repeat(2 * 1024 * 1024) })] }),
    { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  ],
  ['a 20 KiB header', oversizedHeader, { status: 431 }],
  [
    'an unsupported method',
    () => raw({ method: 'PUT', headers: JSON_HEADERS, body: JSON.stringify({ query: '{ __typename }' }) }),
    { status: 405 },
  ],
  [
    'an Accept the server cannot produce',
    () =>
      raw({
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'image/png' },
        body: JSON.stringify({ query: '{ __typename }' }),
      }),
    { status: 406 },
  ],
];

describe('hostile inputs', () => {
  it('has more than 30 of them', () => {
    expect(cases.length).toBeGreaterThan(30);
  });

  it.each(cases)(
    'answers %s with a clear 4xx or GraphQL error, and sends nothing upstream',
    async (_name, send, expected) => {
      const answer = await send();
      expect(answer.status).toBeLessThan(500);
      if (expected.status !== undefined) expect(answer.status).toBe(expected.status);

      let parsed:
        | { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }
        | undefined;
      try {
        parsed = JSON.parse(answer.text);
      } catch {
        parsed = undefined;
      }
      if (answer.status < 400) {
        // A GraphQL error: no data for the mutation, and an error that says why.
        expect(parsed?.errors?.length).toBeGreaterThan(0);
        expect(parsed?.data ?? null).toBeNull();
      }
      if (expected.code) expect(parsed?.errors?.[0]?.extensions?.code).toBe(expected.code);
      if (expected.message) expect(parsed?.errors?.map((error) => error.message).join('\n')).toMatch(expected.message);
      // Nothing internal leaks, and the answer stays small whatever came in.
      expect(answer.text).not.toMatch(/\bat [\w.<>]+ \(|node_modules|Unexpected error\./);
      expect(answer.text.length).toBeLessThan(64 * 1024);
      expect(fake.requests).toHaveLength(0);
      expect(Object.prototype).not.toHaveProperty('polluted');
    },
  );

  it('leaves the server healthy: a normal batch still succeeds afterwards', async () => {
    const health = await fetch(server.url.replace(/\/graphql$/, '/health'));
    expect(health.status).toBe(200);
    const answer = await generate({ images: [image({ prompt: 'A friendly elephant after the storm' })] });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({
      data: { generateWorksheetImages: { status: 'COMPLETED', stats: { successful: 1 } } },
    });
    expect(fake.requests).toHaveLength(1);
  });
});
