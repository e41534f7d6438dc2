/**
 * Scenario 3, server overhead: the fake Together answers at once (latency 0) with tiny images, so what is measured
 * is the server itself. (i) Throughput: 50 clients, each sending generateWorksheetImages for 4 images again and again
 * for a fixed time; images per second and the server process's CPU milliseconds per image. (ii) Progress fan-out:
 * 200 WebSocket subscribers follow the same jobs; the latency of each SUCCEEDED event from the moment the upstream
 * answered that image to the moment a subscriber's callback ran.
 */
import { createClient, type Client } from 'graphql-ws';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import { expectedImageBytes, startFakeTogether } from '../test/support/fake-together.js';
import { batchImages, generateMutation, postGraphQL, type GeneratedJob } from './support/clients.js';
import { cpuMillisBetween, startServerChild } from './support/server-child.js';
import { type Scenario, table } from './report.js';
import { mebibytes, percentile, round } from './support/statistics.js';

export interface ServerOverheadResult {
  scenario: 'server-overhead';
  throughput: {
    clients: number;
    imagesPerMutation: number;
    generationConcurrency: number;
    warmUpMs: number;
    windowMs: number;
    mutations: number;
    images: number;
    failedImages: number;
    imagesPerSecond: number;
    cpuMsPerImage: number;
    /** Server process CPU over the window, as a share of one core. */
    serverCpuCores: number;
    /** This process (the fake Together and the 50 clients) over the same window, as a share of one core. */
    loadGeneratorCpuCores: number;
    mutationLatencyMs: { p50: number; p99: number };
  };
  progress: {
    subscribers: number;
    /** Jobs measured (one at a time in this scenario). */
    rounds: number;
    imagesPerRound: number;
    generationConcurrency: number;
    /** SUCCEEDED events received, over all subscribers. */
    samples: number;
    /** Every event received, all kinds. */
    eventsDelivered: number;
    missingEvents: number;
    latencyMs: { p50: number; p90: number; p99: number; max: number };
    cpuMsPerThousandEvents: number;
    /** Recorded since the load test shares this measurement; older results lack them. */
    jobsAtOnce?: number;
    upstreamLatencyMs?: number;
    errors?: number;
    firstErrors?: string[];
    imagesPerSecond?: number;
    serverPeakRssMiB?: number;
  };
}

export type ProgressResult = Required<ServerOverheadResult['progress']>;

export interface ServerOverheadOptions extends ProgressOptions {
  clients?: number;
  imagesPerMutation?: number;
  warmUpMs?: number;
  windowMs?: number;
  throughputConcurrency?: number;
}

export async function runServerOverhead(options: ServerOverheadOptions = {}): Promise<ServerOverheadResult> {
  const throughput = await measureThroughput(options);
  const progress = await measureProgress(options);
  return { scenario: 'server-overhead', throughput, progress };
}

async function measureThroughput(options: ServerOverheadOptions): Promise<ServerOverheadResult['throughput']> {
  const clients = options.clients ?? 50;
  const imagesPerMutation = options.imagesPerMutation ?? 4;
  const warmUpMs = options.warmUpMs ?? 2000;
  const windowMs = options.windowMs ?? 8000;
  const generationConcurrency = options.throughputConcurrency ?? 32;

  const fake = await startFakeTogether({ latencyMs: 0 });
  const server = await startServerChild({
    upstreamUrl: fake.url,
    apiKey: fake.apiKey,
    environment: { GENERATION_CONCURRENCY: String(generationConcurrency) },
  });
  try {
    const started = performance.now();
    const windowStart = started + warmUpMs;
    const windowEnd = windowStart + windowMs;
    let before: Awaited<ReturnType<typeof server.usage>> | undefined;
    let after: Awaited<ReturnType<typeof server.usage>> | undefined;
    let ownBefore: NodeJS.CpuUsage | undefined;
    let ownAfter: NodeJS.CpuUsage | undefined;
    const marks = [
      setTimeout(() => {
        fake.reset();
        ownBefore = process.cpuUsage();
        void server.usage().then((usage) => (before = usage));
      }, warmUpMs),
      setTimeout(() => {
        ownAfter = process.cpuUsage(ownBefore);
        void server.usage().then((usage) => (after = usage));
      }, warmUpMs + windowMs),
    ];
    const latencies: number[] = [];
    let mutations = 0;
    let images = 0;
    let failedImages = 0;
    let sequence = 0;
    const query = generateMutation(true);
    // undici's request() costs the load generator far less CPU than fetch(), leaving more of the machine to the server.
    const agent = new Agent({ connections: clients, pipelining: 1 });
    const mutate = async (images: ReturnType<typeof batchImages>): Promise<GeneratedJob | undefined> => {
      const response = await request(server.url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query, variables: { input: { images } } }),
      });
      const body = (await response.body.json()) as {
        data?: { generateWorksheetImages: GeneratedJob };
        errors?: unknown;
      };
      if (!body.data)
        throw new Error(`throughput mutation failed (HTTP ${response.statusCode}): ${JSON.stringify(body.errors)}`);
      return body.data.generateWorksheetImages;
    };

    const loop = async (client: number): Promise<void> => {
      while (performance.now() < windowEnd) {
        const batch = batchImages(imagesPerMutation, `throughput client ${client} request ${++sequence}`, 256);
        const sent = performance.now();
        const job = await mutate(batch);
        const received = performance.now();
        if (!job) return;
        // Only mutations that ran wholly inside the window count, so warm-up and the tail do not blur the rate.
        if (sent >= windowStart && received <= windowEnd) {
          mutations += 1;
          latencies.push(received - sent);
          images += job.results.filter((result) => result.success && result.image).length;
          failedImages += job.results.filter((result) => !result.success).length;
        }
      }
    };
    await Promise.all(Array.from({ length: clients }, (_, client) => loop(client)));
    marks.forEach(clearTimeout);
    await agent.close();
    while (!after || !before || !ownAfter) await new Promise((resolve) => setTimeout(resolve, 10));
    const cpuMs = cpuMillisBetween(before, after);
    const ownCpuMs = (ownAfter.user + ownAfter.system) / 1000;
    const result = {
      clients,
      imagesPerMutation,
      generationConcurrency,
      warmUpMs,
      windowMs,
      mutations,
      images,
      failedImages,
      imagesPerSecond: round(images / (windowMs / 1000), 1),
      cpuMsPerImage: round(cpuMs / Math.max(1, images), 3),
      serverCpuCores: round(cpuMs / windowMs, 2),
      loadGeneratorCpuCores: round(ownCpuMs / windowMs, 2),
      mutationLatencyMs: { p50: round(percentile(latencies, 50), 1), p99: round(percentile(latencies, 99), 1) },
    };
    console.log(
      `  server overhead: ${result.imagesPerSecond} images/s with ${clients} clients, ${result.cpuMsPerImage} CPU ms per image, ` +
        `mutation p50 ${result.mutationLatencyMs.p50} ms p99 ${result.mutationLatencyMs.p99} ms, ` +
        `server ${result.serverCpuCores} cores, load generator ${result.loadGeneratorCpuCores} cores`,
    );
    return result;
  } finally {
    await server.stop();
    await fake.close();
  }
}

const PROGRESS_SUBSCRIPTION = /* GraphQL */ `
  subscription Progress($jobId: ID!) {
    generationProgress(jobId: $jobId) {
      jobId sequence done
      progress { completed total errors }
      image { requestId status attempts }
    }
  }
`;

const START_MUTATION = /* GraphQL */ `
  mutation Start($input: GenerateWorksheetImagesInput!) {
    startWorksheetImages(input: $input) { id status }
  }
`;

interface ProgressEvent {
  generationProgress: {
    jobId: string;
    sequence: number;
    done: boolean;
    image: { requestId: string; status: string } | null;
  };
}

export interface ProgressOptions {
  subscribers?: number;
  /** Jobs running at the same time, each followed by its share of the subscribers (the load test runs several). */
  jobsAtOnce?: number;
  imagesPerRound?: number;
  /** Jobs each lane runs one after another; ignored when durationMs is set. */
  rounds?: number;
  /** Keep starting jobs until this much time has passed (the load test). */
  durationMs?: number;
  upstreamLatencyMs?: number;
  generationConcurrency?: number;
}

/**
 * Subscribers follow jobs over graphql-ws: the latency of each SUCCEEDED event from the moment the fake upstream built
 * that image's answer to the moment a subscriber's callback ran; events missing, out of order or failed are errors.
 * The server overhead scenario runs it with one job at a time; the load test (loadtest/run.ts) with several, for a time.
 */
export async function measureProgress(options: ProgressOptions = {}): Promise<ProgressResult> {
  const subscribers = options.subscribers ?? 200;
  const jobsAtOnce = options.jobsAtOnce ?? 1;
  const imagesPerRound = options.imagesPerRound ?? 10;
  const generationConcurrency = options.generationConcurrency ?? 8;
  const upstreamLatencyMs = options.upstreamLatencyMs ?? 0;
  // When the fake built each answer, by prompt: the moment the upstream answered that image.
  const answeredAt = new Map<string, number>();
  const fake = await startFakeTogether({
    latencyMs: upstreamLatencyMs,
    imageBytes: (request, index) => {
      answeredAt.set(request.prompt, performance.now());
      return expectedImageBytes(request, index);
    },
  });
  const server = await startServerChild({
    upstreamUrl: fake.url,
    apiKey: fake.apiKey,
    environment: { GENERATION_CONCURRENCY: String(generationConcurrency) },
  });
  const clients: Client[] = [];
  try {
    await Promise.all(
      Array.from({ length: subscribers }, async () => {
        await new Promise<void>((resolve, reject) => {
          const client = createClient({
            url: server.wsUrl,
            webSocketImpl: WebSocket,
            lazy: false,
            retryAttempts: 0,
            on: { connected: () => resolve(), closed: () => reject(new Error('a subscriber could not connect')) },
          });
          clients.push(client);
        });
      }),
    );
    const perLane = Math.max(1, Math.floor(subscribers / jobsAtOnce));
    const lanes = Array.from({ length: jobsAtOnce }, (_, lane) => clients.slice(lane * perLane, (lane + 1) * perLane));
    // Warm-up round, not measured: loads the subscription code path in the server.
    const ignored = { latencies: [], errors: [] };
    await runRound('warm-up', clients, server.url, imagesPerRound, answeredAt, ignored);

    const tally = { latencies: [] as number[], errors: [] as string[], events: 0, missing: 0, rounds: 0 };
    const before = await server.usage();
    const started = performance.now();
    const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : started + options.durationMs;
    const rounds = options.durationMs === undefined ? (options.rounds ?? 5) : Number.POSITIVE_INFINITY;
    await Promise.all(
      lanes.map(async (lane, index) => {
        for (let round = 0; round < rounds && performance.now() < deadline; round += 1) {
          const outcome = await runRound(`${index}-${round}`, lane, server.url, imagesPerRound, answeredAt, tally);
          tally.events += outcome.events;
          tally.missing += outcome.missing;
          tally.rounds += 1;
        }
      }),
    );
    const elapsedMs = performance.now() - started;
    const after = await server.usage();
    const cpuMs = cpuMillisBetween(before, after);
    const { latencies } = tally;
    const result = {
      subscribers: lanes.flat().length,
      jobsAtOnce,
      rounds: tally.rounds,
      imagesPerRound,
      generationConcurrency,
      upstreamLatencyMs,
      samples: latencies.length,
      eventsDelivered: tally.events,
      missingEvents: tally.missing,
      errors: tally.errors.length,
      firstErrors: tally.errors.slice(0, 5),
      imagesPerSecond: round((tally.rounds * imagesPerRound) / (elapsedMs / 1000), 1),
      latencyMs: {
        p50: round(percentile(latencies, 50), 1),
        p90: round(percentile(latencies, 90), 1),
        p99: round(percentile(latencies, 99), 1),
        max: round(Math.max(...latencies), 1),
      },
      cpuMsPerThousandEvents: round((cpuMs / Math.max(1, tally.events)) * 1000, 1),
      serverPeakRssMiB: mebibytes(after.maxRssBytes),
    };
    console.log(
      `  progress events: ${result.subscribers} subscribers, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms ` +
        `from the upstream's answer (${result.samples} samples), ${result.errors} errors`,
    );
    return result;
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    await server.stop();
    await fake.close();
  }
}

/**
 * Every subscriber subscribes to one new job id before the job exists (the API waits for it), then the job starts.
 * Resolves when every subscriber has seen the final event, or after 30 s.
 */
async function runRound(
  name: string,
  clients: readonly Client[],
  graphqlUrl: string,
  images: number,
  answeredAt: ReadonlyMap<string, number>,
  tally: { latencies: number[]; errors: string[] },
): Promise<{ events: number; missing: number }> {
  const jobId = `progress-${name}-${Date.now()}`;
  const batch = batchImages(images, `progress ${name}`, 256);
  const promptById = new Map(batch.map((image) => [image.id, image.prompt]));
  const expectedPerSubscriber = images * 3 + 1; // QUEUED, GENERATING, SUCCEEDED per image, then the final event
  const finished = clients.map(
    (client) =>
      new Promise<number>((resolve) => {
        let received = 0;
        const timer = setTimeout(() => {
          unsubscribe();
          resolve(received);
        }, 30_000);
        const end = () => {
          clearTimeout(timer);
          resolve(received);
        };
        const unsubscribe = client.subscribe<ProgressEvent>(
          { query: PROGRESS_SUBSCRIPTION, variables: { jobId } },
          {
            next: (result) => {
              const receivedAt = performance.now();
              received += 1;
              const event = result.data?.generationProgress;
              if (result.errors?.length) tally.errors.push(`${jobId}: ${result.errors[0]?.message}`);
              if (event && event.sequence !== received)
                tally.errors.push(`${jobId}: event ${event.sequence} came ${received}th`);
              const status = event?.image?.status;
              if (status === 'FAILED' || status === 'CANCELLED') tally.errors.push(`${jobId}: an image ${status}`);
              const answered = answeredAt.get(promptById.get(event?.image?.requestId ?? '') ?? '');
              if (status === 'SUCCEEDED' && answered !== undefined) tally.latencies.push(receivedAt - answered);
            },
            error: (error) => {
              tally.errors.push(`${jobId}: subscription error ${JSON.stringify(error)}`);
              end();
            },
            complete: end,
          },
        );
      }),
  );
  // The subscribe messages must reach the server before the job starts, or the replay would be what is measured.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const started = await postGraphQL<{ startWorksheetImages: { id: string } }>(graphqlUrl, START_MUTATION, {
    input: { jobId, images: batch },
  });
  if (!started.data) throw new Error(`startWorksheetImages failed: ${JSON.stringify(started.errors)}`);
  const counts = await Promise.all(finished);
  const events = counts.reduce((sum, count) => sum + count, 0);
  const missing = counts.reduce((sum, count) => sum + Math.max(0, expectedPerSubscriber - count), 0);
  return { events, missing };
}

export const serverOverhead: Scenario<ServerOverheadResult> = {
  name: 'overhead',
  title: '3. Server overhead',
  run: () => runServerOverhead(),
  targets: ({ throughput: t, progress: p }) => [
    [
      '3',
      'server overhead (no target: measured)',
      `${t.imagesPerSecond} images/s with ${t.clients} clients; ${t.cpuMsPerImage} CPU ms per image; progress events p50 ${p.latencyMs.p50} ms, p99 ${p.latencyMs.p99} ms with ${p.subscribers} subscribers`,
      'measured',
    ],
  ],
  report: ({
    throughput: t,
    progress: p,
  }) => `Fake upstream at latency 0 with tiny JPEGs, so the server's own work is what is measured.

${table(
  ['measure', 'value'],
  [
    [
      'throughput',
      `${t.imagesPerSecond} images/s (${t.images} images in ${t.mutations} mutations over ${t.windowMs / 1000} s, after ${t.warmUpMs / 1000} s warm-up)`,
    ],
    [
      'clients',
      `${t.clients} concurrent, each sending \`generateWorksheetImages\` with ${t.imagesPerMutation} images (data URLs in the answer) again and again`,
    ],
    [
      'server CPU per image',
      `${t.cpuMsPerImage} ms (user + system of the server process): one core's worth carries about ${Math.round(1000 / t.cpuMsPerImage)} images/s`,
    ],
    [
      'server CPU used',
      `${t.serverCpuCores} cores (V8's GC and libuv threads count too); load generator (fake + clients) ${t.loadGeneratorCpuCores} cores`,
    ],
    [
      'mutation latency',
      `p50 ${t.mutationLatencyMs.p50} ms, p99 ${t.mutationLatencyMs.p99} ms (queueing: ${t.clients} clients share one event loop)`,
    ],
    ['failed images', t.failedImages],
    [
      'GENERATION_CONCURRENCY',
      `${t.generationConcurrency} (above the default so that the limiter is not what is measured)`,
    ],
    [
      'progress subscribers',
      `${p.subscribers} WebSocket connections (graphql-ws), each subscribed to the same job before it starts`,
    ],
    [
      'progress jobs',
      `${p.rounds} jobs of ${p.imagesPerRound} images, GENERATION_CONCURRENCY ${p.generationConcurrency}: each a burst of ${p.imagesPerRound * 3 + 1} events x ${p.subscribers} subscribers`,
    ],
    [
      'progress event latency',
      `p50 ${p.latencyMs.p50} ms, p90 ${p.latencyMs.p90} ms, p99 ${p.latencyMs.p99} ms, max ${p.latencyMs.max} ms (${p.samples} SUCCEEDED events)`,
    ],
    ['events delivered', `${p.eventsDelivered} (${p.missingEvents} missing)`],
    ['server CPU per 1,000 events delivered', `${p.cpuMsPerThousandEvents} ms`],
  ],
)}

Event latency runs from the moment the fake built an image's answer to the moment a subscriber's \`next\` callback ran
for its SUCCEEDED event. With latency 0 a job's images are answered within milliseconds, and graphql-ws executes the
selection once per subscriber and event, so the tail is the queue behind that burst, not a slow path. The load test
(\`npm run loadtest\`) runs this same measurement with several jobs at once for a fixed time.
`,
};
