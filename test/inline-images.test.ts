import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_TOGETHER_API_KEY, type FakeTogether, startFakeTogether } from './support/fake-together.js';
import { postGraphQL } from './support/graphql-clients.js';
import { type ServerProcess, startServerProcess } from './support/server-process.js';
import { randomJpegOfSize } from './support/test-images.js';

/**
 * The figure is 20 parallel reads of a 100 x 1 MiB job under +1 GiB (measured by scripts/hostile-figures.ts);
 * the test runs the same shape smaller, on a real server process, with a bound that a server building the answers
 * would break many times over: 20 x 100 x 256 KiB is 500 MiB of images, 3 GiB and more as base64 JSON.
 */
const IMAGES = 100;
const IMAGE_BYTES = 256 * 1024;
const READS = 20;
const MAX_INLINE = 4 * 1024 * 1024;
const PEAK_GROWTH_BOUND = 256 * 1024 * 1024;

let fake: FakeTogether;
let server: ServerProcess;

beforeAll(async () => {
  const picture = randomJpegOfSize(IMAGE_BYTES);
  fake = await startFakeTogether({ imageBytes: () => picture });
  server = await startServerProcess({
    TOGETHER_API_KEY: FAKE_TOGETHER_API_KEY,
    TOGETHER_BASE_URL: fake.url,
    MAX_INLINE_IMAGE_BYTES: String(MAX_INLINE),
    QUOTA_IMAGES_PER_MINUTE: '0',
    GENERATION_CONCURRENCY: '16',
    LOG_LEVEL: 'warn',
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await fake?.close();
});

/** The server process's resident memory now and at its peak, from /proc (Linux). */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

const READ_IMAGES = /* GraphQL */ `
  query Read($id: ID!) { generationJob(id: $id) { id results { id image } } }
`;
const READ_URLS = /* GraphQL */ `
  query Read($id: ID!) { generationJob(id: $id) { id results { id url byteLength } } }
`;

async function generate(jobId: string, count: number, size = 512): Promise<void> {
  const images = Array.from({ length: count }, (_, index) => ({
    id: `0-${index}`,
    prompt: `picture ${jobId} ${index}`,
    width: size,
    height: size,
  }));
  const { body } = await postGraphQL(
    server.url,
    'mutation Go($input: GenerateWorksheetImagesInput!) { generateWorksheetImages(input: $input) { id stats { successful } } }',
    { input: { jobId, images } },
  );
  expect(body.data).toEqual({ generateWorksheetImages: { id: jobId, stats: { successful: count } } });
}

describe('image bytes count in what a query may cost', () => {
  it('a small job is answered inline as before', async () => {
    await generate('small', 3);
    const { body } = await postGraphQL<{ generationJob: { results: Array<{ image: string }> } }>(
      server.url,
      READ_IMAGES,
      { id: 'small' },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data?.generationJob.results.map((result) => result.image.slice(0, 23))).toEqual(
      Array.from({ length: 3 }, () => 'data:image/jpeg;base64,'),
    );
  });

  it(`${READS} parallel inline reads of a ${IMAGES} x ${IMAGE_BYTES / 1024} KiB job are refused, saying to use url, and the server stays small and alive`, async () => {
    await generate('large', IMAGES);
    const before = memoryOf(server.child.pid ?? 0);
    const answers = await Promise.all(
      Array.from({ length: READS }, () => postGraphQL(server.url, READ_IMAGES, { id: 'large' })),
    );
    for (const { body, text } of answers) {
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'RESPONSE_TOO_LARGE', jobId: 'large' });
      expect(body.errors?.[0]?.message).toContain('Ask for `url` instead of `image`');
      expect(text.length).toBeLessThan(64 * 1024);
    }
    const after = memoryOf(server.child.pid ?? 0);
    expect(after.peak - before.peak).toBeLessThan(PEAK_GROWTH_BOUND);
    expect((await fetch(server.url.replace('/graphql', '/health'))).status).toBe(200);
  });

  it('the same job read by url: every picture is fetched, one at a time, with its bytes intact', async () => {
    const { body } = await postGraphQL<{ generationJob: { results: Array<{ url: string; byteLength: number }> } }>(
      server.url,
      READ_URLS,
      { id: 'large' },
    );
    const results = body.data?.generationJob.results ?? [];
    expect(results).toHaveLength(IMAGES);
    const origin = server.url.replace('/graphql', '');
    for (const result of results.slice(0, 5)) {
      const response = await fetch(`${origin}${result.url}`);
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBe(result.byteLength);
    }
  });

  it('aliases cannot split the budget: it is counted over the whole operation', async () => {
    await generate('medium', 10);
    // 10 x 256 KiB = 2.5 MiB fits once; two aliases make 5 MiB, over the 4 MiB budget.
    const once = await postGraphQL(server.url, READ_IMAGES, { id: 'medium' });
    expect(once.body.errors).toBeUndefined();
    const twice = await postGraphQL(
      server.url,
      'query { a: generationJob(id: "medium") { results { image } } b: generationJob(id: "medium") { results { image } } }',
    );
    expect(twice.body.errors?.map((error) => error.extensions?.code)).toEqual(['RESPONSE_TOO_LARGE']);
  });
});
