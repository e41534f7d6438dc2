import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tokenTenant } from '../src/server/access-control.js';
import { createGatedProvider, type GatedProvider } from './support/gated-provider.js';
import {
  collectSubscription,
  createRecordingWsClient,
  images,
  PROGRESS_SUBSCRIPTION,
  postGraphQL,
  type RecordingWsClient,
  START_MUTATION,
} from './support/graphql-clients.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const tokenA = `wsi_${randomBytes(16).toString('hex')}`;
const tokenB = `wsi_${randomBytes(16).toString('hex')}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const JOB_QUERY = /* GraphQL */ `
  query Job($id: ID!) {
    generationJob(id: $id) { id status results { id status url } }
  }
`;
const CANCEL = /* GraphQL */ `
  mutation Cancel($jobId: ID!) {
    cancelGeneration(jobId: $jobId) { id status }
  }
`;

let provider: GatedProvider;
let server: TestServer;
const clients: RecordingWsClient[] = [];

beforeAll(async () => {
  provider = createGatedProvider();
  server = await startTestServer(
    { API_TOKENS: `${tokenA},${tokenB}`, QUOTA_IMAGES_PER_MINUTE: '0', SUBSCRIBE_WAIT_MS: '300' },
    { provider },
  );
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});
afterAll(async () => {
  provider.open();
  await server?.close();
});

const post = (token: string, query: string, variables: Record<string, unknown>) =>
  postGraphQL<Record<string, unknown>>(server.url, query, variables, bearer(token));

function ws(token: string): RecordingWsClient {
  const client = createRecordingWsClient(server.wsUrl, { authorization: `Bearer ${token}` });
  clients.push(client);
  return client;
}

/** Starts a one-image job for `token` and lets it finish. */
async function finishedJob(token: string, jobId: string): Promise<void> {
  provider.open();
  const { body } = await post(token, START_MUTATION, { input: { jobId, images: images(1, jobId) } });
  expect(body.errors).toBeUndefined();
  await expect
    .poll(
      async () =>
        ((await post(token, JOB_QUERY, { id: jobId })).body.data?.generationJob as { status: string })?.status,
    )
    .toBe('COMPLETED');
  provider.shut();
}

/** What a caller sees of a job id everywhere it can look: query, image URL, cancel, subscription. */
async function everythingAbout(token: string, jobId: string) {
  const query = await post(token, JOB_QUERY, { id: jobId });
  const image = await fetch(`${server.url.replace('/graphql', '')}/images/${jobId}/0-0`, { headers: bearer(token) });
  const cancel = await post(token, CANCEL, { jobId });
  const subscription = await collectSubscription(ws(token).client, PROGRESS_SUBSCRIPTION, { jobId }).done;
  return {
    query: { status: query.status, body: query.body },
    image: { status: image.status, body: await image.text() },
    cancel: { status: cancel.status, body: cancel.body },
    subscription: { results: subscription.results, error: JSON.stringify(subscription.error) },
  };
}

describe('with API_TOKENS, each token is a tenant', () => {
  it('tenants are named by a hash of the token, never the token', () => {
    expect(tokenTenant(tokenA)).toMatch(/^token:[0-9a-f]{16}$/);
    expect(tokenTenant(tokenA)).not.toContain(tokenA.slice(4, 12));
    expect(tokenTenant(tokenA)).not.toBe(tokenTenant(tokenB));
    expect(tokenTenant(tokenA)).toBe(tokenTenant(tokenA));
  });

  it("B sees A's finished job exactly as an unknown id: query, image, cancel and progress", async () => {
    await finishedJob(tokenA, 'a-finished');
    const own = await post(tokenA, JOB_QUERY, { id: 'a-finished' });
    const job = own.body.data?.generationJob as { results: Array<{ url: string }> } | undefined;
    const url = job?.results[0]?.url;
    expect(url).toBe('/images/a-finished/0-0');
    expect((await fetch(`${server.url.replace('/graphql', '')}${url}`, { headers: bearer(tokenA) })).status).toBe(200);

    const foreign = await everythingAbout(tokenB, 'a-finished');
    const unknown = await everythingAbout(tokenB, 'nobody-has-this');
    // Same status, same shape, same words: only the id the caller sent differs.
    expect(JSON.stringify(foreign).replaceAll('a-finished', 'ID')).toBe(
      JSON.stringify(unknown).replaceAll('nobody-has-this', 'ID'),
    );
    expect(foreign.query.body).toEqual({ data: { generationJob: null } });
    expect(foreign.image.status).toBe(404);
    expect(foreign.cancel.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(foreign.subscription.error).toContain('NOT_FOUND');
    expect(foreign.subscription.results).toEqual([]);
  });

  it("A resuming after its own job's final event ends quietly; B asking the same gets NOT_FOUND", async () => {
    await finishedJob(tokenA, 'a-resumed');
    // A one-image job's events: QUEUED, GENERATING, SUCCEEDED, then the final one (4).
    const own = await collectSubscription(ws(tokenA).client, PROGRESS_SUBSCRIPTION, { jobId: 'a-resumed', after: 4 })
      .done;
    expect(own.error).toBeUndefined();
    expect(own.results).toEqual([]);
    const foreign = await collectSubscription(ws(tokenB).client, PROGRESS_SUBSCRIPTION, {
      jobId: 'a-resumed',
      after: 4,
    }).done;
    expect(foreign.results).toEqual([]);
    expect(JSON.stringify(foreign.error)).toContain('NOT_FOUND');
  });

  it("B can neither follow nor cancel A's running job, and A's job runs on untouched", async () => {
    provider.shut();
    const { body } = await post(tokenA, START_MUTATION, { input: { jobId: 'a-running', images: images(2, 'run') } });
    expect(body.errors).toBeUndefined();
    await provider.whenWaiting(2);

    const cancel = await post(tokenB, CANCEL, { jobId: 'a-running' });
    expect(cancel.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const follow = await collectSubscription(ws(tokenB).client, PROGRESS_SUBSCRIPTION, { jobId: 'a-running' }).done;
    expect(follow.results).toEqual([]);
    expect(JSON.stringify(follow.error)).toContain('NOT_FOUND');

    const mine = collectSubscription(ws(tokenA).client, PROGRESS_SUBSCRIPTION, { jobId: 'a-running' });
    provider.release();
    const { results } = await mine.done;
    const last = results.at(-1)?.data as { generationProgress: { done: boolean; stats: { successful: number } } };
    expect(last.generationProgress).toMatchObject({ done: true, stats: { successful: 2 } });
  });

  it('the same jobId in two tenants is two jobs: no conflict, no claim, no oracle', async () => {
    provider.open();
    // B takes the id first, with other images.
    const b = await post(tokenB, START_MUTATION, { input: { jobId: 'shared-id', images: images(3, 'b') } });
    expect(b.body.errors).toBeUndefined();
    const a = await post(tokenA, START_MUTATION, { input: { jobId: 'shared-id', images: images(1, 'a') } });
    expect(a.body.errors).toBeUndefined();
    expect(a.body.data?.startWorksheetImages).toMatchObject({ id: 'shared-id', stats: { total: 1 } });

    // Each sees its own; the store keeps them apart.
    const jobA = await server.app.jobs.get('shared-id', tokenTenant(tokenA));
    const jobB = await server.app.jobs.get('shared-id', tokenTenant(tokenB));
    expect(jobA?.stats.total).toBe(1);
    expect(jobB?.stats.total).toBe(3);
    // Only a tenant's own reuse of the id with other images is a conflict.
    const again = await post(tokenA, START_MUTATION, { input: { jobId: 'shared-id', images: images(2, 'other') } });
    expect(again.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    provider.shut();
  });
});

describe('without API_TOKENS, everyone is one tenant (local use)', () => {
  it('a job started over HTTP is readable, followable and fetchable by any caller', async () => {
    const local = await startTestServer({ QUOTA_IMAGES_PER_MINUTE: '0' });
    try {
      const { body } = await postGraphQL(local.url, START_MUTATION, { input: { jobId: 'local-1', images: images(1) } });
      expect(body.errors).toBeUndefined();
      const client = createRecordingWsClient(local.wsUrl);
      clients.push(client);
      const { results } = await collectSubscription(client.client, PROGRESS_SUBSCRIPTION, { jobId: 'local-1' }).done;
      expect(results.at(-1)?.data).toMatchObject({ generationProgress: { done: true } });
      const image = await fetch(`${local.url.replace('/graphql', '')}/images/local-1/0-0`);
      expect(image.status).toBe(200);
      expect(await local.app.jobs.get('local-1')).toBeDefined();
    } finally {
      await local.close();
    }
  });
});
