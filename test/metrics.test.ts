import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../src/metrics/metrics.js';

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Serves `metrics.handle` on a loopback port, as the app will, and answers its URL. */
async function serve(metrics: Metrics): Promise<string> {
  const server = createServer((request, response) => void metrics.handle(request, response));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

async function scrape(metrics: Metrics): Promise<string> {
  const response = await fetch(await serve(metrics));
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of one sample of the exposition, or undefined when the series is absent. */
function sample(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((pair) => [pair[1], pair[2]]),
    );
    const wanted = Object.entries(labels);
    if (wanted.length === Object.keys(found).length && wanted.every(([key, value]) => found[key] === value)) {
      return Number(match[3]);
    }
  }
  return undefined;
}

const idle = () => createMetrics({ inFlight: () => 0, runningJobs: () => 0 });

describe('the /metrics exposition', () => {
  it('is served in the Prometheus text format with its content type', async () => {
    const metrics = idle();
    const response = await fetch(await serve(metrics));

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await response.text()).toContain('# TYPE worksheet_images_images_total counter');
  });

  it('counts finished images by status and error code', async () => {
    const metrics = idle();
    metrics.observer.imageFinished?.('SUCCEEDED', null);
    metrics.observer.imageFinished?.('SUCCEEDED', null);
    metrics.observer.imageFinished?.('FAILED', 'TIMEOUT');
    metrics.observer.imageFinished?.('FAILED', 'CONTENT_FLAGGED');
    metrics.observer.imageFinished?.('FAILED', 'TIMEOUT');
    metrics.observer.imageFinished?.('CANCELLED', 'CANCELLED');

    const text = await scrape(metrics);

    expect(sample(text, 'worksheet_images_images_total', { status: 'SUCCEEDED', code: 'none' })).toBe(2);
    expect(sample(text, 'worksheet_images_images_total', { status: 'FAILED', code: 'TIMEOUT' })).toBe(2);
    expect(sample(text, 'worksheet_images_images_total', { status: 'FAILED', code: 'CONTENT_FLAGGED' })).toBe(1);
    expect(sample(text, 'worksheet_images_images_total', { status: 'CANCELLED', code: 'CANCELLED' })).toBe(1);
  });

  it('counts retries by reason', async () => {
    const metrics = idle();
    metrics.observer.retryScheduled?.('http_503', 500);
    metrics.observer.retryScheduled?.('http_429', 2_000);
    metrics.observer.retryScheduled?.('http_503', 900);

    const text = await scrape(metrics);

    expect(sample(text, 'worksheet_images_retries_total', { reason: 'http_503' })).toBe(2);
    expect(sample(text, 'worksheet_images_retries_total', { reason: 'http_429' })).toBe(1);
  });

  it('records upstream attempt durations in seconds, by outcome, in buckets', async () => {
    const metrics = idle();
    metrics.observer.attemptFinished?.(800, 'success');
    metrics.observer.attemptFinished?.(2_500, 'success');
    metrics.observer.attemptFinished?.(60_000, 'timeout');

    const text = await scrape(metrics);
    const name = 'worksheet_images_upstream_request_duration_seconds';

    expect(text).toContain(`# TYPE ${name} histogram`);
    expect(sample(text, `${name}_count`, { outcome: 'success' })).toBe(2);
    expect(sample(text, `${name}_sum`, { outcome: 'success' })).toBeCloseTo(3.3);
    expect(sample(text, `${name}_bucket`, { outcome: 'success', le: '0.5' })).toBe(0);
    expect(sample(text, `${name}_bucket`, { outcome: 'success', le: '1' })).toBe(1);
    expect(sample(text, `${name}_bucket`, { outcome: 'success', le: '3' })).toBe(2);
    expect(sample(text, `${name}_bucket`, { outcome: 'success', le: '+Inf' })).toBe(2);
    expect(sample(text, `${name}_bucket`, { outcome: 'timeout', le: '30' })).toBe(0);
    expect(sample(text, `${name}_bucket`, { outcome: 'timeout', le: '60' })).toBe(1);
    expect(sample(text, `${name}_sum`, { outcome: 'timeout' })).toBe(60);
  });

  it('records queue wait in seconds, in buckets', async () => {
    const metrics = idle();
    metrics.observer.queueWait?.(0);
    metrics.observer.queueWait?.(40);
    metrics.observer.queueWait?.(12_000);

    const text = await scrape(metrics);
    const name = 'worksheet_images_queue_wait_seconds';

    expect(text).toContain(`# TYPE ${name} histogram`);
    expect(sample(text, `${name}_count`)).toBe(3);
    expect(sample(text, `${name}_sum`)).toBeCloseTo(12.04);
    expect(sample(text, `${name}_bucket`, { le: '0.005' })).toBe(1);
    expect(sample(text, `${name}_bucket`, { le: '0.05' })).toBe(2);
    expect(sample(text, `${name}_bucket`, { le: '10' })).toBe(2);
    expect(sample(text, `${name}_bucket`, { le: '30' })).toBe(3);
  });

  it('reads upstream requests in flight and running jobs afresh on every scrape', async () => {
    let inFlight = 3;
    let runningJobs = 1;
    const metrics = createMetrics({ inFlight: () => inFlight, runningJobs: () => runningJobs });
    const url = await serve(metrics);

    const first = await (await fetch(url)).text();
    expect(sample(first, 'worksheet_images_upstream_in_flight')).toBe(3);
    expect(sample(first, 'worksheet_images_jobs_running')).toBe(1);

    inFlight = 0;
    runningJobs = 4;
    const second = await (await fetch(url)).text();
    expect(sample(second, 'worksheet_images_upstream_in_flight')).toBe(0);
    expect(sample(second, 'worksheet_images_jobs_running')).toBe(4);
  });

  it('reads the upstream limit and the learned rate on every scrape, and counts the time paused on retry-after', async () => {
    let limits: { concurrency: number; ratePerSecond: number | null } = { concurrency: 16, ratePerSecond: null };
    const metrics = createMetrics({ inFlight: () => 0, runningJobs: () => 0, upstreamLimits: () => limits });
    const url = await serve(metrics);

    const first = await (await fetch(url)).text();
    expect(sample(first, 'worksheet_images_upstream_concurrency_limit')).toBe(16);
    expect(sample(first, 'worksheet_images_upstream_rate_per_second')).toBe(0);
    expect(sample(first, 'worksheet_images_upstream_rate_limit_pause_seconds_total')).toBe(0);

    limits = { concurrency: 3, ratePerSecond: 4.75 };
    metrics.observer.rateLimitPause?.(1_500);
    metrics.observer.rateLimitPause?.(Number.NaN);
    const second = await (await fetch(url)).text();
    expect(sample(second, 'worksheet_images_upstream_concurrency_limit')).toBe(3);
    expect(sample(second, 'worksheet_images_upstream_rate_per_second')).toBe(4.75);
    expect(sample(second, 'worksheet_images_upstream_rate_limit_pause_seconds_total')).toBe(1.5);
  });

  it('counts jobs started and jobs finished by status', async () => {
    const metrics = idle();
    metrics.observer.jobStarted?.();
    metrics.observer.jobStarted?.();
    metrics.observer.jobStarted?.();
    metrics.observer.jobFinished?.('COMPLETED');
    metrics.observer.jobFinished?.('CANCELLED');
    metrics.observer.jobFinished?.('COMPLETED');

    const text = await scrape(metrics);

    expect(sample(text, 'worksheet_images_jobs_started_total')).toBe(3);
    expect(sample(text, 'worksheet_images_jobs_finished_total', { status: 'COMPLETED' })).toBe(2);
    expect(sample(text, 'worksheet_images_jobs_finished_total', { status: 'CANCELLED' })).toBe(1);
  });

  it('shows the known series at zero before anything happened', async () => {
    const text = await scrape(idle());

    expect(sample(text, 'worksheet_images_images_total', { status: 'SUCCEEDED', code: 'none' })).toBe(0);
    expect(sample(text, 'worksheet_images_jobs_started_total')).toBe(0);
    expect(sample(text, 'worksheet_images_jobs_finished_total', { status: 'COMPLETED' })).toBe(0);
    expect(sample(text, 'worksheet_images_jobs_finished_total', { status: 'CANCELLED' })).toBe(0);
  });

  it('includes the process metrics', async () => {
    const text = await scrape(idle());

    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE process_resident_memory_bytes gauge');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(sample(text, 'process_start_time_seconds')).toBeGreaterThan(0);
  });

  it('drops durations that are not durations rather than throwing on the hot path', async () => {
    const metrics = idle();
    expect(() => metrics.observer.queueWait?.(Number.NaN)).not.toThrow();
    expect(() => metrics.observer.queueWait?.(-5)).not.toThrow();
    expect(() => metrics.observer.attemptFinished?.(Number.POSITIVE_INFINITY, 'success')).not.toThrow();

    const text = await scrape(metrics);

    expect(sample(text, 'worksheet_images_queue_wait_seconds_count')).toBe(0);
    expect(
      sample(text, 'worksheet_images_upstream_request_duration_seconds_count', { outcome: 'success' }),
    ).toBeUndefined();
  });

  it('keeps the metrics of several servers in one process apart', async () => {
    const first = idle();
    const second = createMetrics({ inFlight: () => 7, runningJobs: () => 0 });
    first.observer.jobStarted?.();

    expect(sample(await scrape(first), 'worksheet_images_jobs_started_total')).toBe(1);
    const text = await scrape(second);
    expect(sample(text, 'worksheet_images_jobs_started_total')).toBe(0);
    expect(sample(text, 'worksheet_images_upstream_in_flight')).toBe(7);
  });

  it('names the metrics with a custom prefix', async () => {
    const metrics = createMetrics({ inFlight: () => 0, runningJobs: () => 0, prefix: 'staging_' });
    metrics.observer.retryScheduled?.('timeout', 100);

    const text = await scrape(metrics);

    expect(sample(text, 'staging_retries_total', { reason: 'timeout' })).toBe(1);
    expect(text).not.toContain('worksheet_images_');
  });

  it('answers HEAD without a body and refuses other methods', async () => {
    const url = await serve(idle());

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');

    const post = await fetch(url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers 500 when a gauge cannot be read', async () => {
    const metrics = createMetrics({
      inFlight: () => {
        throw new Error('limiter is gone');
      },
      runningJobs: () => 0,
    });

    const response = await fetch(await serve(metrics));

    expect(response.status).toBe(500);
    expect(await response.text()).toContain('limiter is gone');
  });

  it('rejects options that cannot work, naming them', () => {
    const count = () => 0;
    expect(() => createMetrics({ inFlight: 3 as unknown as () => number, runningJobs: count })).toThrow(
      new TypeError('inFlight must be a function that returns the number of upstream requests in flight'),
    );
    expect(() => createMetrics({ inFlight: count, runningJobs: undefined as unknown as () => number })).toThrow(
      /^runningJobs must be a function/,
    );
    expect(() => createMetrics({ inFlight: count, runningJobs: count, prefix: 'worksheet-images.' })).toThrow(
      /^prefix must be/,
    );
  });
});

describe('the GraphQL metrics', () => {
  const schema = createSchema({
    typeDefs: 'type Query { hello(name: String!): String! }',
    resolvers: { Query: { hello: (_: unknown, { name }: { name: string }) => `Hello, ${name}` } },
  });

  it('records execute timings, request durations and operation counts in the same registry', async () => {
    const metrics = idle();
    const yoga = createYoga({ schema, plugins: [metrics.yogaPlugin], logging: false });

    const response = await yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query Greeting { hello(name: "Ada") }' }),
    });
    expect(await response.json()).toEqual({ data: { hello: 'Hello, Ada' } });

    const text = await scrape(metrics);
    const operation = { operationName: 'Greeting', operationType: 'query' };

    expect(sample(text, 'graphql_envelop_request', operation)).toBe(1);
    expect(sample(text, 'graphql_envelop_phase_execute_count', operation)).toBe(1);
    // Off for cost (see graphql-metrics.ts): parse and validate are cached, and no field is deprecated.
    expect(text).not.toContain('graphql_envelop_phase_parse');
    expect(text).not.toContain('graphql_envelop_phase_validate');
    expect(text).not.toContain('graphql_envelop_deprecated_field');
    expect(sample(text, 'graphql_envelop_request_duration_count', operation)).toBe(1);
    expect(sample(text, 'graphql_yoga_http_duration_count', { ...operation, method: 'POST', statusCode: '200' })).toBe(
      1,
    );
    // Beside the service's own metrics, not in prom-client's global registry.
    expect(text).toContain('# TYPE worksheet_images_images_total counter');
  });

  it('counts GraphQL errors by phase', async () => {
    const metrics = idle();
    const yoga = createYoga({ schema, plugins: [metrics.yogaPlugin], logging: false });

    await yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query Broken { nope }' }),
    });

    const text = await scrape(metrics);
    expect(
      sample(text, 'graphql_envelop_error_result', {
        operationName: 'Broken',
        operationType: 'query',
        phase: 'validate',
      }),
    ).toBe(1);
  });

  it('leaves /metrics to the app instead of answering it inside Yoga', async () => {
    const metrics = idle();
    const yoga = createYoga({ schema, plugins: [metrics.yogaPlugin], logging: false });

    const response = await yoga.fetch('http://yoga/metrics');

    expect(response.status).toBe(404);
  });
});
