import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATE_MUTATION, images, postGraphQL } from './support/graphql-clients.js';
import { startTestServer, type TestServer } from './support/test-server.js';

describe("the operator's view", () => {
  let server: TestServer;
  let base: string;
  beforeAll(async () => {
    server = await startTestServer();
    base = server.url.replace(/\/graphql$/, '');
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves Prometheus metrics for images, jobs, upstream latency and GraphQL operations', async () => {
    const { body } = await postGraphQL(server.url, GENERATE_MUTATION, { input: { images: images(3, 'metrics') } });
    expect(body.errors).toBeUndefined();
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/^worksheet_images_images_total\{status="SUCCEEDED",code="none"\} 3$/m);
    expect(text).toMatch(/^worksheet_images_jobs_started_total 1$/m);
    expect(text).toMatch(/^worksheet_images_jobs_finished_total\{status="COMPLETED"\} 1$/m);
    expect(text).toMatch(/^worksheet_images_upstream_request_duration_seconds_count\{outcome="success"\} 3$/m);
    expect(text).toMatch(/^worksheet_images_queue_wait_seconds_count 3$/m);
    expect(text).toMatch(/^worksheet_images_upstream_in_flight 0$/m);
    expect(text).toMatch(/^worksheet_images_jobs_running 0$/m);
    expect(text).toContain('graphql_envelop_phase_execute');
  });

  it('puts a request id on every log line written for a request, and answers it in X-Request-Id', async () => {
    const { headers } = await postGraphQL(
      server.url,
      GENERATE_MUTATION,
      { input: { jobId: 'logged-1', images: images(2, 'logged') } },
      { 'x-request-id': 'req-from-proxy-42' },
    );
    expect(headers.get('x-request-id')).toBe('req-from-proxy-42');
    const lines = server
      .logs()
      .split('\n')
      .filter((line) => line.includes('"batchId":"logged-1"'))
      .map((line) => JSON.parse(line) as { requestId?: string; msg: string });
    expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['batch started', 'batch finished']));
    expect(lines.every((line) => line.requestId === 'req-from-proxy-42')).toBe(true);

    const fresh = await fetch(`${base}/health`);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the progress page at / in development', async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
  });
});

describe('with API_TOKENS and in production', () => {
  let server: TestServer;
  let base: string;
  beforeAll(async () => {
    server = await startTestServer({ API_TOKENS: 'operator-token-123', NODE_ENV: 'production' });
    base = server.url.replace(/\/graphql$/, '');
  });
  afterAll(async () => {
    await server.close();
  });

  it('guards /metrics with the same bearer tokens', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer operator-token-123' } })).status).toBe(
      200,
    );
  });

  it('leaves /health and /ready open for probes', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });

  it('does not serve the progress page in production unless asked for', async () => {
    const response = await fetch(`${base}/`, { headers: { authorization: 'Bearer operator-token-123' } });
    expect(response.status).toBe(404);
  });
});
