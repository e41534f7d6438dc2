/**
 * The floor: the least a GraphQL server on this stack can do for the benchmark's operations, so that what the project
 * spends above it is its own overhead. graphql-yoga with the same operation shapes, each image one undici request to
 * the same upstream, and nothing else: no validation, limiter, retries, job store, metrics, logging, access control.
 *
 * - `generateWorksheetImages`: every image at once, answered with data URLs, stats and error codes.
 * - `startWorksheetImages` and `generationProgress`: the same events as the project (QUEUED, GENERATING and SUCCEEDED
 *   per image, then a final one), published through Yoga's in-memory pubsub to graphql-ws subscribers, each of whom
 *   subscribed before the job started (the bench does so), executed once per subscriber as Yoga does by default.
 *
 * Compiled before it runs (bench/support/compile.ts), configured by the environment variables the project reads (PORT,
 * HOST, TOGETHER_BASE_URL, TOGETHER_API_KEY, GENERATION_CONCURRENCY for its connection pool); prints
 * `listening on <url>` first, as the project does.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useServer } from 'graphql-ws/use/ws';
import { createPubSub, createSchema, createYoga } from 'graphql-yoga';
import { Agent, request } from 'undici';
import { WebSocketServer } from 'ws';

interface ImageInput {
  id: string;
  prompt: string;
  width: number;
  height: number;
  seed?: number | null;
}

interface Result {
  id: string;
  /** The client's key; the project's ImageResult has both (id is unique across jobs there). */
  requestId: string;
  status: string;
  success: boolean;
  attempts: number;
  image: string | null;
  error: { code: string } | null;
}

interface ProgressEvent {
  jobId: string;
  sequence: number;
  done: boolean;
  progress: { completed: number; total: number; errors: number };
  image: Result | null;
}

const env = process.env;
const baseUrl = (env.TOGETHER_BASE_URL ?? '').replace(/\/+$/, '');
if (!baseUrl) throw new Error('TOGETHER_BASE_URL is required');
const endpoint = `${baseUrl}/images/generations`;
const apiKey = env.TOGETHER_API_KEY ?? '';
const dispatcher = new Agent({ connections: Number(env.GENERATION_CONCURRENCY ?? 32), keepAliveTimeout: 30_000 });

async function generate(image: ImageInput): Promise<Result> {
  const response = await request(endpoint, {
    method: 'POST',
    dispatcher,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      model: 'black-forest-labs/FLUX.1-schnell',
      prompt: image.prompt,
      width: image.width,
      height: image.height,
      steps: 4,
      n: 1,
      response_format: 'base64',
    }),
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) {
    return {
      id: image.id,
      requestId: image.id,
      status: 'FAILED',
      success: false,
      attempts: 1,
      image: null,
      error: { code: 'UPSTREAM_UNAVAILABLE' },
    };
  }
  const b64 = (JSON.parse(text) as { data: Array<{ b64_json: string }> }).data[0]?.b64_json ?? '';
  // Decoded and encoded again, as the project keeps the bytes and answers a data URL.
  const bytes = Buffer.from(b64, 'base64');
  return {
    id: image.id,
    requestId: image.id,
    status: 'SUCCEEDED',
    success: true,
    attempts: 1,
    image: `data:image/jpeg;base64,${bytes.toString('base64')}`,
    error: null,
  };
}

const pubSub = createPubSub<Record<string, [ProgressEvent]>>();

/** Runs a job's images at once, publishing each state change to the job's subscribers. */
async function runJob(jobId: string, images: readonly ImageInput[]): Promise<void> {
  let sequence = 0;
  let completed = 0;
  const publish = (image: Result | null, done = false) =>
    pubSub.publish(jobId, {
      jobId,
      sequence: ++sequence,
      done,
      progress: { completed, total: images.length, errors: 0 },
      image,
    });
  const state = (image: ImageInput, status: string, attempts: number): Result => ({
    id: image.id,
    requestId: image.id,
    status,
    success: false,
    attempts,
    image: null,
    error: null,
  });
  for (const image of images) publish(state(image, 'QUEUED', 0));
  await Promise.all(
    images.map(async (image) => {
      publish(state(image, 'GENERATING', 1));
      const result = await generate(image);
      completed += 1;
      publish(result);
    }),
  );
  publish(null, true);
}

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    input ImageRequestInput { id: ID! prompt: String! width: Int! height: Int! seed: Int }
    input GenerateWorksheetImagesInput { jobId: ID images: [ImageRequestInput!]! }
    type ImageError { code: String! }
    type ImageResult {
      id: ID!
      requestId: ID!
      status: String!
      success: Boolean!
      attempts: Int!
      image: String
      error: ImageError
    }
    type GenerationStats { total: Int! successful: Int! failed: Int! retries: Int! durationMs: Int! }
    type GenerationJob { id: ID! status: String! stats: GenerationStats! results: [ImageResult!]! }
    type Progress { completed: Int! total: Int! errors: Int! }
    type GenerationEvent { jobId: ID! sequence: Int! done: Boolean! progress: Progress! image: ImageResult }
    type Query { ok: Boolean! }
    type Mutation {
      generateWorksheetImages(input: GenerateWorksheetImagesInput!): GenerationJob!
      startWorksheetImages(input: GenerateWorksheetImagesInput!): GenerationJob!
    }
    type Subscription { generationProgress(jobId: ID!): GenerationEvent! }
  `,
  resolvers: {
    Query: { ok: () => true },
    Mutation: {
      generateWorksheetImages: async (
        _root: unknown,
        { input }: { input: { jobId?: string | null; images: ImageInput[] } },
      ) => {
        const started = performance.now();
        const results = await Promise.all(input.images.map(generate));
        const successful = results.filter((result) => result.success).length;
        return {
          id: input.jobId ?? randomUUID(),
          status: 'COMPLETED',
          stats: {
            total: results.length,
            successful,
            failed: results.length - successful,
            retries: 0,
            durationMs: Math.round(performance.now() - started),
          },
          results,
        };
      },
      startWorksheetImages: (_root: unknown, { input }: { input: { jobId?: string | null; images: ImageInput[] } }) => {
        const id = input.jobId ?? randomUUID();
        void runJob(id, input.images);
        return {
          id,
          status: 'RUNNING',
          stats: { total: input.images.length, successful: 0, failed: 0, retries: 0, durationMs: 0 },
          results: [],
        };
      },
    },
    Subscription: {
      generationProgress: {
        subscribe: async function* (_root: unknown, { jobId }: { jobId: string }) {
          for await (const event of pubSub.subscribe(jobId)) {
            yield event;
            if (event.done) return;
          }
        },
        resolve: (event: ProgressEvent) => event,
      },
    },
  },
});

const yoga = createYoga({ schema, graphqlEndpoint: '/graphql', landingPage: false, graphiql: false, logging: false });
const server = createServer(yoga);
const webSockets = new WebSocketServer({ server, path: '/graphql' });
// Yoga's documented graphql-ws recipe: each operation through Yoga's envelop.
useServer(
  {
    execute: (args) => (args.rootValue as { execute: (a: unknown) => never }).execute(args),
    subscribe: (args) => (args.rootValue as { subscribe: (a: unknown) => never }).subscribe(args),
    onSubscribe: async (context, _id, params) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...context,
        req: context.extra.request,
        socket: context.extra.socket,
        params,
      });
      const document = parse(params.query);
      const errors = validate(schema, document);
      if (errors.length) return errors;
      return {
        schema,
        operationName: params.operationName,
        document,
        variableValues: params.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
    },
  },
  webSockets,
);

server.listen(Number(env.PORT ?? 0), env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening on http://${env.HOST ?? '127.0.0.1'}:${port}/graphql\n`);
});
const stop = () => {
  for (const socket of webSockets.clients) socket.terminate();
  server.close();
  server.closeAllConnections();
  void dispatcher.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
