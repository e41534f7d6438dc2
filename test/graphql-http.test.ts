import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATE_MUTATION, images, postGraphQL } from './support/graphql-clients.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

describe('GraphQL over HTTP', () => {
  it('passes every MUST and SHOULD audit of the GraphQL-over-HTTP spec (graphql-http)', async () => {
    const audits = serverAudits({ url: server.url, fetchFn: fetch });
    const failures: string[] = [];
    let audited = 0;
    for (const audit of audits) {
      if (audit.name.startsWith('MAY')) continue;
      audited += 1;
      const result = await audit.fn();
      if (result.status !== 'ok') failures.push(`${audit.name}: ${result.reason}`);
    }
    expect(failures).toEqual([]);
    expect(audited).toBeGreaterThan(20);
  });

  it('generates a worksheet batch through the mutation and answers every image in request order', async () => {
    const input = {
      images: [
        { id: '0-0', prompt: 'A friendly elephant', width: 512, height: 512 },
        { id: '0-1', prompt: 'Three red apples', width: 500, height: 300, seed: 7 },
        { id: '1-0', prompt: 'A friendly elephant', width: 512, height: 512 },
      ],
    };
    const { status, body, headers } = await postGraphQL(server.url, GENERATE_MUTATION, { input });
    expect(status).toBe(200);
    expect(headers.get('content-type')).toContain('application/graphql-response+json');
    expect(body.errors).toBeUndefined();
    const job = (body.data as { generateWorksheetImages: GeneratedJob }).generateWorksheetImages;
    expect(job.status).toBe('COMPLETED');
    expect(job.results.map((result) => result.requestId)).toEqual(['0-0', '0-1', '1-0']);
    // Unique across jobs, so that normalized caches keep two jobs' images apart.
    expect(job.results.map((result) => result.id)).toEqual(['0-0', '0-1', '1-0'].map((id) => `${job.id}/${id}`));
    expect(job.stats).toMatchObject({ total: 3, successful: 3, failed: 0, cancelled: 0, pending: 0 });
    for (const result of job.results) {
      expect(result).toMatchObject({
        status: 'SUCCEEDED',
        success: true,
        mimeType: 'image/png',
        placeholder: true,
        error: null,
      });
      expect(result.image).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
      expect(Buffer.from(result.image!.split(',')[1]!, 'base64').length).toBe(result.byteLength);
    }
    expect(job.results[1]).toMatchObject({
      dimensions: { width: 496, height: 304 },
      requestedDimensions: { width: 500, height: 300 },
    });
    expect(job.results[2]!.deduplicated).toBe(true);
    expect(job.results[2]!.image).toBe(job.results[0]!.image);
  });

  it('serves each finished image at its url, so large batches need not carry data URLs', async () => {
    const { body } = await postGraphQL(
      server.url,
      'mutation($input: GenerateWorksheetImagesInput!) { generateWorksheetImages(input: $input) { id results { id url mimeType byteLength } } }',
      { input: { jobId: 'urls/1', images: images(2, 'by url') } },
    );
    const job = (
      body.data as {
        generateWorksheetImages: { results: Array<{ id: string; url: string; mimeType: string; byteLength: number }> };
      }
    ).generateWorksheetImages;
    const [first] = job.results;
    expect(first!.url).toBe('/images/urls%2F1/0-0');
    const base = server.url.replace(/\/graphql$/, '');
    const response = await fetch(`${base}${first!.url}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(first!.mimeType);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.length).toBe(first!.byteLength);
    expect(bytes.subarray(0, 4).toString('hex')).toBe('89504e47');
    expect((await fetch(`${base}/images/urls%2F1/9-9`)).status).toBe(404);
    expect((await fetch(`${base}/images/nope/0-0`)).status).toBe(404);
  });

  it('answers queries over GET and refuses mutations over GET', async () => {
    const query = encodeURIComponent('{ generationJob(id: "nope") { id } }');
    const get = await fetch(`${server.url}?query=${query}`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { generationJob: null } });

    const mutation = encodeURIComponent('mutation { cancelGeneration(jobId: "x") { id } }');
    const refused = await fetch(`${server.url}?query=${mutation}`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(refused.status).toBe(405);
  });

  it('reads a finished job back with generationJob', async () => {
    const input = { jobId: 'read-back-1', images: images(2, 'read back') };
    await postGraphQL(server.url, GENERATE_MUTATION, { input });
    const { body } = await postGraphQL(
      server.url,
      'query($id: ID!) { generationJob(id: $id) { id status finishedAt results { id requestId status } } }',
      { id: 'read-back-1' },
    );
    expect(body.data).toMatchObject({
      generationJob: {
        id: 'read-back-1',
        status: 'COMPLETED',
        results: [
          { id: 'read-back-1/0-0', requestId: '0-0', status: 'SUCCEEDED' },
          { id: 'read-back-1/0-1', requestId: '0-1', status: 'SUCCEEDED' },
        ],
      },
    });
  });

  it('generates one image with generateImage', async () => {
    const { body } = await postGraphQL(
      server.url,
      'mutation { generateImage(prompt: "A red kite", width: 256, height: 200) { status image dimensions { width height } } }',
    );
    expect(body.data).toMatchObject({
      generateImage: { status: 'SUCCEEDED', dimensions: { width: 256, height: 208 } },
    });
  });

  it('gives every generateImage result its own id, and "image" as its requestId', async () => {
    const single = 'mutation { generateImage(prompt: "A red kite", width: 64, height: 64) { id requestId } }';
    const answers = await Promise.all([postGraphQL(server.url, single), postGraphQL(server.url, single)]);
    const [first, second] = answers.map(
      ({ body }) => (body.data as { generateImage: { id: string; requestId: string } }).generateImage,
    );
    expect(first!.requestId).toBe('image');
    expect(first!.id).toMatch(/\/image$/);
    expect(first!.id).not.toBe(second!.id);
  });

  it('serves GraphiQL in development, set to WebSocket subscriptions, without any CDN', async () => {
    const response = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('worksheet-images');
    expect(html).toContain('"subscriptionsProtocol":"WS"');
    expect(html).not.toMatch(/<script[^>]+src="https?:/);
    expect(html).not.toContain('unpkg.com');
  });

  it('answers /health and /ready', async () => {
    const base = server.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
  });
});

interface GeneratedJob {
  id: string;
  status: string;
  stats: Record<string, number>;
  results: Array<{
    id: string;
    requestId: string;
    status: string;
    image: string | null;
    byteLength: number | null;
    deduplicated: boolean;
    [key: string]: unknown;
  }>;
}
