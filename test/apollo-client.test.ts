import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { loadDevMessages, loadErrorMessages } from '@apollo/client/dev';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  apolloTypePolicies,
  generateWorksheetImagesMutation,
  generationJobQuery,
  generationProgressSubscription,
  startWorksheetImagesMutation,
  type GenerationProgressSubscription,
  type ImageStatus,
} from '../src/client/index.js';
import { captureConsole } from './support/console-capture.js';
import { createGatedProvider, type GatedProvider } from './support/gated-provider.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let provider: GatedProvider;
let console_: ReturnType<typeof captureConsole>;
const disposers: Array<() => unknown> = [];

beforeAll(async () => {
  // Apollo's warnings in words rather than as links to its error site.
  loadDevMessages();
  loadErrorMessages();
  provider = createGatedProvider();
  server = await startTestServer({ GENERATION_CONCURRENCY: '2' }, { provider });
});
afterEach(async () => {
  console_?.restore();
  provider.open();
  await Promise.all(disposers.splice(0).map((dispose) => dispose()));
  provider.shut();
});
afterAll(async () => {
  await server.close();
});

/** Apollo's own recipe: HttpLink for queries and mutations, GraphQLWsLink over graphql-ws (with ws) for the rest. */
function apollo(options: { typePolicies?: typeof apolloTypePolicies; sockets?: WebSocket[] } = {}) {
  const sockets = options.sockets;
  class TrackedWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      sockets?.push(this);
    }
  }
  // No retries inside graphql-ws: it would resend the first variables. The application resumes with `after`.
  const ws: WsClient = createWsClient({ url: server.wsUrl, webSocketImpl: TrackedWebSocket, retryAttempts: 0 });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(ws),
    new HttpLink({ uri: server.url }),
  );
  const client = new ApolloClient({
    link,
    cache: new InMemoryCache(options.typePolicies ? { typePolicies: options.typePolicies } : {}),
  });
  disposers.push(
    () => ws.dispose(),
    () => client.stop(),
  );
  return client;
}

const worksheet = (prompts: string[]) =>
  prompts.map((prompt, index) => ({ id: `0-${index}`, prompt, width: 128, height: 128 }));

describe('Apollo Client 4 (HttpLink + GraphQLWsLink)', () => {
  it('keeps two worksheets whose request ids collide apart in its cache, with default settings and no warning', async () => {
    provider.open();
    console_ = captureConsole();
    const client = apollo();
    const jobs = {
      a: { jobId: 'apollo-a', images: worksheet(['A cat on a mat', 'A dog in a fog']) },
      b: { jobId: 'apollo-b', images: worksheet(['A bee in a tree', 'A fish on a dish']) },
    };
    const answers = [];
    for (const input of [jobs.a, jobs.b]) {
      const { data } = await client.mutate({ mutation: generateWorksheetImagesMutation, variables: { input } });
      answers.push(data!.generateWorksheetImages);
    }
    for (const { jobId } of [jobs.a, jobs.b]) {
      await client.query({ query: generationJobQuery, variables: { id: jobId }, fetchPolicy: 'network-only' });
    }

    const [answerA, answerB] = answers;
    for (const [jobId, answer] of [
      ['apollo-a', answerA],
      ['apollo-b', answerB],
    ] as const) {
      const cached = client.readQuery({ query: generationJobQuery, variables: { id: jobId } })?.generationJob;
      expect(cached?.results.map((result) => [result.id, result.requestId])).toEqual([
        [`${jobId}/0-0`, '0-0'],
        [`${jobId}/0-1`, '0-1'],
      ]);
      // Each picture's url names its job, so a result overwritten by the other job's would show here.
      expect(cached?.results.map((result) => result.url)).toEqual(answer!.results.map((result) => result.url));
    }
    expect(answerA!.results[0]!.url).not.toBe(answerB!.results[0]!.url);
    expect(console_.lines).toEqual([]);
  });

  it('warns that cache data may be lost when two queries select different stats, unless given apolloTypePolicies', async () => {
    provider.open();
    await server.app.jobs.start({ jobId: 'apollo-stats', images: worksheet(['A hat']) }).then((job) => job.finished);
    const someStats = gql`query SomeStats($id: ID!) { generationJob(id: $id) { id stats { total successful } } }`;
    const otherStats = gql`query OtherStats($id: ID!) { generationJob(id: $id) { id stats { failed retries } } }`;
    const run = async (client: ApolloClient) => {
      for (const query of [someStats, otherStats]) {
        await client.query({ query, variables: { id: 'apollo-stats' }, fetchPolicy: 'network-only' });
      }
      return client.readQuery({ query: someStats, variables: { id: 'apollo-stats' } });
    };

    console_ = captureConsole();
    await run(apollo());
    expect(console_.lines.join('\n')).toMatch(
      /Cache data may be lost when replacing the %s field[\s\S]*stats GenerationJob/,
    );
    console_.restore();

    console_ = captureConsole();
    const merged = await run(apollo({ typePolicies: apolloTypePolicies }));
    expect(console_.lines).toEqual([]);
    expect(merged).toMatchObject({ generationJob: { stats: { total: 1, successful: 1 } } });
  });

  it('resumes a dropped WebSocket with after: no event twice, and no image goes back a state in the cache', async () => {
    console_ = captureConsole();
    const sockets: WebSocket[] = [];
    const client = apollo({ typePolicies: apolloTypePolicies, sockets });
    const jobId = 'apollo-resume';
    const images = worksheet(['A kite', 'A boat', 'A train', 'A plane']);
    const sequences: number[] = [];
    const cachedStates = new Map<string, ImageStatus[]>();
    let drops = 0;
    let resolveDone: () => void;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });

    const recordCache = () => {
      const cached = client.cache.extract() as Record<string, { status?: ImageStatus }>;
      for (const { id } of images) {
        const status = cached[`ImageResult:${jobId}/${id}`]?.status;
        const seen = cachedStates.get(id) ?? [];
        if (status && seen.at(-1) !== status) cachedStates.set(id, [...seen, status]);
      }
    };
    // What an application does: follow, and after a drop, follow again after the last sequence it has.
    const follow = () => {
      const after = sequences.at(-1) ?? 0;
      const subscription = client
        .subscribe({ query: generationProgressSubscription, variables: { jobId, after } })
        .subscribe({
          next: (result) => {
            if (result.error) return dropped();
            const event = (result.data as GenerationProgressSubscription).generationProgress;
            sequences.push(event.sequence);
            recordCache();
            if (event.done) resolveDone();
          },
          error: () => dropped(),
        });
      const dropped = () => {
        subscription.unsubscribe();
        drops += 1;
        setTimeout(follow, 50);
      };
    };

    follow();
    await client.mutate({
      mutation: startWorksheetImagesMutation,
      variables: { input: { jobId, images } },
    });
    await provider.whenWaiting(2);
    provider.release(2);
    await expect.poll(() => sequences.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(8);
    // The network goes away under the client: no close handshake.
    sockets.at(-1)!.terminate();
    await expect.poll(() => drops, { timeout: 10_000 }).toBe(1);
    provider.open();
    await done;

    expect(sequences).toEqual(sequences.map((_, index) => index + 1));
    expect(sequences).toHaveLength(4 * 3 + 1);
    expect(sockets.length).toBe(2);
    for (const { id } of images) expect(cachedStates.get(id), id).toEqual(['QUEUED', 'GENERATING', 'SUCCEEDED']);
    expect(console_.lines).toEqual([]);
  });
});
