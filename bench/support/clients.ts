/**
 * The ways of getting a batch of images that the benchmarks compare: this server through its GraphQL mutation, the
 * official `together-ai` SDK with Promise.all, the seed system's one-after-another loop, and a plain parallel loop
 * with a fixed three-attempt budget. The last three talk to the (fake) upstream directly, as a browser-side or
 * script client would.
 */
import { Together } from 'together-ai';

export interface BatchImage {
  id: string;
  prompt: string;
  width: number;
  height: number;
}

export interface ClientRun {
  wallMs: number;
  total: number;
  succeeded: number;
  /** Response bytes the client read (bodies only). */
  bytesReceived: number;
}

export interface Upstream {
  /** The API root, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  apiKey: string;
}

export const MODEL = 'black-forest-labs/FLUX.1-schnell';
export const STEPS = 4;
export const CLIENT_MAX_ATTEMPTS = 3;

/** `count` distinct requests; ids "0-0", "0-1", ... as an editor numbers placeholders. */
export function batchImages(count: number, prefix: string, side = 512): BatchImage[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `0-${index}`,
    prompt: `${prefix} ${index}`,
    width: side,
    height: side,
  }));
}

export interface GraphQLAnswer<T> {
  status: number;
  data: T | undefined;
  errors: Array<{ message: string }> | undefined;
  bytes: number;
}

export async function postGraphQL<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<GraphQLAnswer<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query, variables }),
    ...(signal ? { signal } : {}),
  });
  const text = await response.text();
  const body = JSON.parse(text) as { data?: T; errors?: Array<{ message: string }> };
  return { status: response.status, data: body.data ?? undefined, errors: body.errors, bytes: Buffer.byteLength(text) };
}

export interface GeneratedJob {
  id: string;
  status: string;
  stats: { total: number; successful: number; failed: number; retries: number; durationMs: number };
  results: Array<{
    id: string;
    success: boolean;
    image?: string | null;
    attempts: number;
    error: { code: string } | null;
  }>;
}

export const generateMutation = (withImages: boolean) => /* GraphQL */ `
  mutation Generate($input: GenerateWorksheetImagesInput!) {
    generateWorksheetImages(input: $input) {
      id status
      stats { total successful failed retries durationMs }
      results { id success attempts ${withImages ? 'image' : ''} error { code } }
    }
  }
`;

/** (a) This server: one generateWorksheetImages mutation for the whole batch, the data URLs included. */
export async function generateThroughServer(
  graphqlUrl: string,
  images: readonly BatchImage[],
  options: { withImages?: boolean; jobId?: string } = {},
): Promise<ClientRun & { job: GeneratedJob }> {
  const started = performance.now();
  const answer = await postGraphQL<{ generateWorksheetImages: GeneratedJob }>(
    graphqlUrl,
    generateMutation(options.withImages ?? true),
    {
      input: { images, ...(options.jobId ? { jobId: options.jobId } : {}) },
    },
  );
  const wallMs = performance.now() - started;
  const job = answer.data?.generateWorksheetImages;
  if (!job) throw new Error(`the mutation failed (HTTP ${answer.status}): ${JSON.stringify(answer.errors)}`);
  const succeeded = job.results.filter(
    (result) => result.success && (options.withImages === false || result.image),
  ).length;
  return { wallMs, total: images.length, succeeded, bytesReceived: answer.bytes, job };
}

/** (b) The official SDK, default retries (2, so 3 attempts), one call per image, all at once with Promise.all. */
export async function generateWithSdk(upstream: Upstream, images: readonly BatchImage[]): Promise<ClientRun> {
  const client = new Together({ apiKey: upstream.apiKey, baseURL: upstream.url, logLevel: 'off' });
  const started = performance.now();
  const outcomes = await Promise.allSettled(
    images.map((image) =>
      client.images.generate({
        model: MODEL,
        prompt: image.prompt,
        width: image.width,
        height: image.height,
        steps: STEPS,
        n: 1,
        response_format: 'base64',
      }),
    ),
  );
  const wallMs = performance.now() - started;
  let succeeded = 0;
  let bytesReceived = 0;
  for (const outcome of outcomes) {
    const item = outcome.status === 'fulfilled' ? outcome.value.data[0] : undefined;
    if (item && 'b64_json' in item && item.b64_json) {
      succeeded += 1;
      bytesReceived += item.b64_json.length;
    }
  }
  return { wallMs, total: images.length, succeeded, bytesReceived };
}

/** (c) The seed system's old way: one request after another, each with up to three attempts. */
export async function generateOneAfterAnother(upstream: Upstream, images: readonly BatchImage[]): Promise<ClientRun> {
  const started = performance.now();
  let succeeded = 0;
  let bytesReceived = 0;
  for (const image of images) {
    const bytes = await generateWithFixedAttempts(upstream, image);
    if (bytes !== undefined) {
      succeeded += 1;
      bytesReceived += bytes;
    }
  }
  return { wallMs: performance.now() - started, total: images.length, succeeded, bytesReceived };
}

/** (d) A plain parallel loop: every image at once, each with a fixed budget of three attempts that obey retry-after. */
export async function generateWithPlainLoop(upstream: Upstream, images: readonly BatchImage[]): Promise<ClientRun> {
  const started = performance.now();
  const sizes = await Promise.all(images.map((image) => generateWithFixedAttempts(upstream, image)));
  const wallMs = performance.now() - started;
  const delivered = sizes.filter((size): size is number => size !== undefined);
  return {
    wallMs,
    total: images.length,
    succeeded: delivered.length,
    bytesReceived: delivered.reduce((sum, size) => sum + size, 0),
  };
}

/** One image, up to three attempts; waits retry-after (or 1 s) after a 429 or 5xx. Answers the base64 length. */
async function generateWithFixedAttempts(upstream: Upstream, image: BatchImage): Promise<number | undefined> {
  for (let attempt = 1; attempt <= CLIENT_MAX_ATTEMPTS; attempt += 1) {
    const response = await fetch(`${upstream.url}/images/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${upstream.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        prompt: image.prompt,
        width: image.width,
        height: image.height,
        steps: STEPS,
        n: 1,
        response_format: 'base64',
      }),
    });
    const text = await response.text();
    if (response.ok) {
      const body = JSON.parse(text) as { data?: Array<{ b64_json?: string }> };
      return body.data?.[0]?.b64_json?.length;
    }
    const retryable = response.status === 429 || response.status >= 500;
    if (!retryable || attempt === CLIENT_MAX_ATTEMPTS) return undefined;
    const retryAfterSeconds = Number(response.headers.get('retry-after') ?? '1');
    await new Promise((resolve) =>
      setTimeout(resolve, (Number.isFinite(retryAfterSeconds) ? retryAfterSeconds : 1) * 1000),
    );
  }
  return undefined;
}
