import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/test-server.js';

/**
 * The HTTP handler's reader is the only body limit: Yoga's own (25 MB by default, with a second stream per request)
 * is off. These tests hold the one limit to its promises on every path into Yoga.
 */
const LIMIT = 64 * 1024;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ LOG_LEVEL: 'silent', MAX_BODY_BYTES: String(LIMIT) });
});
afterAll(async () => {
  await server.close();
});

interface Answer {
  status: number;
  text: string;
}

/** Sends `body` in chunks with Transfer-Encoding: chunked (no Content-Length), so only counting can catch it. */
function postChunked(path: string, chunks: readonly string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const request = httpRequest(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    // The server answers 413 and closes before the whole body is out: that ends the request, not the test.
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

const mutationWithPrompt = (prompt: string) =>
  JSON.stringify({
    query: 'mutation($p: String!) { generateImage(prompt: $p, width: 256, height: 256) { status } }',
    variables: { p: prompt },
  });

describe('the request body limit', () => {
  it('answers 413 PAYLOAD_TOO_LARGE for a declared Content-Length over the limit', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: mutationWithPrompt('x'.repeat(LIMIT)),
    });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors[0]?.extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.errors[0]?.message).toContain(`at most ${LIMIT} bytes`);
  });

  it('answers 413 PAYLOAD_TOO_LARGE for a chunked body once it passes the limit', async () => {
    const chunk = 'x'.repeat(8 * 1024);
    const answer = await postChunked('/graphql', [
      '{"query":"{ __typename }","pad":"',
      ...Array.from({ length: 16 }, () => chunk),
      '"}',
    ]);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.text).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('holds Yoga’s open /health path to the same limit', async () => {
    const answer = await postChunked(
      '/health',
      Array.from({ length: 16 }, () => 'x'.repeat(8 * 1024)),
    );
    expect(answer.status).toBe(413);
  });

  it('hands a body within the limit to GraphQL whole, chunked or not', async () => {
    const prompt = 'a kite '.repeat(100);
    const body = mutationWithPrompt(prompt);
    const middle = Math.floor(body.length / 2);
    const answer = await postChunked('/graphql', [body.slice(0, middle), body.slice(middle)]);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ data: { generateImage: { status: 'SUCCEEDED' } } });
  });
});
