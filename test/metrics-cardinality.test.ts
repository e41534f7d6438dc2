import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postGraphQL } from './support/graphql-clients.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const KEPT = 20;
const FLOOD = 300;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ METRICS_MAX_OPERATION_NAMES: String(KEPT), QUOTA_IMAGES_PER_MINUTE: '0' });
});
afterAll(async () => {
  await server?.close();
});

async function scrape(): Promise<string> {
  const response = await fetch(server.url.replace('/graphql', '/metrics'));
  expect(response.status).toBe(200);
  return response.text();
}

/** Every distinct value the `label` takes in the exposition, over all series. */
function labelValues(exposition: string, label: string): Set<string> {
  const values = new Set<string>();
  for (const match of exposition.matchAll(new RegExp(`${label}="([^"]*)"`, 'g'))) values.add(match[1] ?? '');
  return values;
}

/** Runs `count` requests, `parallel` at a time. */
async function inBatches(count: number, parallel: number, request: (index: number) => Promise<unknown>) {
  for (let start = 0; start < count; start += parallel) {
    await Promise.all(
      Array.from({ length: Math.min(parallel, count - start) }, (_, offset) => request(start + offset)),
    );
  }
}

describe('metric labels stay bounded whatever names clients choose', () => {
  it(`${FLOOD} distinct operation names make at most ${KEPT} labels plus "other"`, async () => {
    await postGraphQL(server.url, 'query HonestClient { generationJob(id: "x") { id } }');
    await inBatches(FLOOD, 10, (index) =>
      postGraphQL(
        server.url,
        `query Flood${index}_${'x'.repeat(index % 3 === 0 ? 100 : 1)} { generationJob(id: "x") { id } }`,
      ),
    );
    const exposition = await scrape();
    const names = labelValues(exposition, 'operationName');
    expect(names.size).toBeLessThanOrEqual(KEPT + 2);
    expect(names.has('other')).toBe(true);
    // The first names seen keep their own series.
    expect(names.has('HonestClient')).toBe(true);
    const requests = exposition
      .split('\n')
      .filter((line) => line.startsWith('graphql_envelop_request_duration_count{'));
    const total = requests.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    // Nothing is lost: every operation is counted, under its own name or "other".
    expect(total).toBeGreaterThanOrEqual(FLOOD + 1);
  });

  it('error paths that aliases name are folded the same way', async () => {
    await inBatches(100, 10, (index) =>
      postGraphQL(server.url, `mutation { a${index}: cancelGeneration(jobId: "missing-${index}") { id } }`),
    );
    const paths = labelValues(await scrape(), 'path');
    expect(paths.size).toBeLessThanOrEqual(KEPT + 1);
  });

  it('the exposition stays small after the flood', async () => {
    const exposition = await scrape();
    // Without folding, 300 names made thousands of series; a few hundred lines per kept name is the ceiling here.
    expect(exposition.split('\n').length).toBeLessThan(6000);
  });
});
