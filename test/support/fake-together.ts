/**
 * A faithful stand-in for Together AI's image API (see shared/UPSTREAM.md) that tests and benchmarks start on
 * loopback. It validates requests the way the real API does (a little stricter on sides, on purpose), answers in
 * Together's wire format, and can be scripted to fail in every way the real service and its edge proxy do.
 *
 * Order of checks for POST {root}/images/generations: API key (401), token-bucket mode (429), in-flight rate-limit
 * mode (429), content type, JSON and fields (400/404), then the scripted behavior: `behaviorFor` first, else the next
 * queued one, else the default. Only requests that pass validation consume the queue, and only they count toward
 * `inFlight`.
 *
 * Every retry-after it sends (429 or any scripted answer) is remembered: a later request that arrives before that
 * time has passed is an "early arrival", counted and flagged on its record. That is how tests prove a client waits.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { tinyJpeg, tinyPng } from './test-images.js';

export const FAKE_TOGETHER_API_KEY = 'fake-together-test-key';
export const FAKE_TOGETHER_MODEL = 'black-forest-labs/FLUX.1-schnell';

export type FakeBehavior =
  | { kind: 'ok' }
  /** Any status; without a body, Together's error body for that status (Cloudflare's HTML page for 520 and 524). */
  | { kind: 'status'; status: number; body?: object; headers?: Record<string, string> }
  /** Never answers, until the client gives up or close() is called. */
  | { kind: 'hang' }
  /** Destroys the connection with a TCP reset and no response. */
  | { kind: 'reset' }
  /** Sends 200, its headers and half of the JSON body, then closes the connection. */
  | { kind: 'resetMidBody' }
  /** 200 with content-type application/json and a body that is not JSON. */
  | { kind: 'malformedJson' }
  /** 200 with an HTML page, as a proxy or a captive portal would answer. */
  | { kind: 'wrongContentType' };

/** A request that passed validation, with the API's defaults filled in. */
export interface FakeGenerationRequest {
  model: string;
  prompt: string;
  width: number;
  height: number;
  steps: number | undefined;
  seed: number | undefined;
  n: number;
  responseFormat: 'base64' | 'url';
  outputFormat: 'jpeg' | 'png';
}

export type FakeLatency = number | ((request: FakeGenerationRequest) => number);

export interface FakeRateLimit {
  /** A request arriving while this many are being processed is answered 429 at once. */
  maxInFlight: number;
  retryAfterSeconds?: number;
  retryAfterMs?: number;
}

/** How a token-bucket 429 says when to come back. */
export type RetryAfterStyle =
  /** `retry-after` in whole seconds until the next token, rounded up (Together's style). */
  | 'seconds'
  /** `retry-after-ms`: milliseconds until the next token. */
  | 'milliseconds'
  /** An HTTP date: the next whole second at which a token is there. */
  | 'http-date'
  | 'zero'
  | 'negative'
  /** A day. */
  | 'huge'
  | 'missing';

/**
 * A rate per key, the way Together limits it: a bucket of `burst` tokens refilled at `ratePerSecond`; each request
 * that passes the key check takes one, and one that finds none is answered 429 at once.
 */
export interface FakeTokenBucket {
  ratePerSecond: number;
  burst: number;
  /** Default 'seconds'. */
  retryAfter?: RetryAfterStyle;
  /**
   * x-ratelimit-limit (the burst), -remaining (whole tokens left) and -reset (seconds until the bucket is full, as
   * Together documents it) on every answer, as of the request's arrival. Default true.
   */
  headers?: boolean;
}

export type RequestOutcome =
  | 'pending'
  /** A complete response was sent. */
  | 'answered'
  /** The fake cut the connection on purpose (reset, resetMidBody). */
  | 'dropped'
  /** The client went away, or close() was called, before an answer. */
  | 'abandoned';

export interface RecordedRequest {
  /** 1, 2, 3... in order of arrival, across reset(). */
  readonly id: number;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body, or undefined when there was none or it was not JSON. */
  readonly body: unknown;
  readonly rawBody: string;
  /** performance.now() when the request arrived. */
  readonly receivedAt: number;
  /** The status line sent, if any (200 for resetMidBody, whose body never completes). */
  status: number | null;
  outcome: RequestOutcome;
  /** Whether it arrived before a retry-after the fake had sent earlier had passed. */
  readonly early: boolean;
}

export interface FakeTogetherCounters {
  /** Every request to the API, any path or method; image downloads are not API requests. */
  requests: number;
  /** Requests to POST {root}/images/generations, whatever became of them. */
  generations: number;
  /** Complete responses, by status. */
  responsesByStatus: Record<number, number>;
  dropped: number;
  abandoned: number;
  /** GETs of the image URLs handed out for response_format "url". */
  downloads: number;
  /** Requests that arrived before a retry-after the fake had sent had passed. */
  earlyArrivals: number;
}

export interface FakeTogetherOptions {
  /** The one key accepted. Default FAKE_TOGETHER_API_KEY. */
  apiKey?: string;
  /** Model ids accepted; others are answered 404. Default [FAKE_TOGETHER_MODEL]. */
  models?: readonly string[];
  /** Bounds for width and height, inclusive. Defaults 64 and 1792. */
  minSide?: number;
  maxSide?: number;
  /** Applied with real timers before any scripted answer; a client abort cuts it short. Default 0. */
  latencyMs?: FakeLatency;
  /** What to do once the queue is empty. Default { kind: 'ok' }. */
  behavior?: FakeBehavior;
  /** A rule that wins over the queue, e.g. to flag one prompt with 422. Return undefined to fall through. */
  behaviorFor?: (request: FakeGenerationRequest) => FakeBehavior | undefined;
  rateLimit?: FakeRateLimit;
  tokenBucket?: FakeTokenBucket;
  /** Replaces the image bytes; the default is expectedImageBytes(). */
  imageBytes?: (request: FakeGenerationRequest, index: number) => Buffer;
}

export interface FakeTogether {
  /** The API root, e.g. http://127.0.0.1:PORT/v1: what goes into TOGETHER_BASE_URL. */
  readonly url: string;
  readonly apiKey: string;
  /** Every API request received since start or reset(), oldest first. */
  readonly requests: readonly RecordedRequest[];
  readonly inFlight: number;
  /** The highest inFlight seen since start or reset(). */
  readonly maxInFlight: number;
  readonly counters: FakeTogetherCounters;
  setBehavior(behavior: FakeBehavior): void;
  enqueue(...behaviors: FakeBehavior[]): void;
  setLatency(latency: FakeLatency): void;
  setRateLimit(rateLimit: FakeRateLimit | undefined): void;
  /** Turns token-bucket mode on (with a full bucket) or off. */
  setTokenBucket(tokenBucket: FakeTokenBucket | undefined): void;
  /** Resolves once at least `count` requests are in flight; rejects after timeoutMs (default 10 s). */
  whenInFlight(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves once at least `count` API requests have been recorded; rejects after timeoutMs (default 10 s). */
  whenRequests(count: number, timeoutMs?: number): Promise<void>;
  /**
   * Forgets requests, counters, queue, stored images and retry-afters sent; restores the options' behavior, latency,
   * rate limit and token bucket (full again).
   */
  reset(): void;
  /** Stops listening and destroys every connection, hung ones included. Safe to call twice. */
  close(): Promise<void>;
}

/** A Together-style 429, as a scripted behavior. */
export function rateLimited(
  options: { retryAfterSeconds?: number; retryAfterMs?: number; resetSeconds?: number } = {},
): FakeBehavior {
  const headers: Record<string, string> = {};
  if (options.retryAfterSeconds !== undefined) headers['retry-after'] = String(options.retryAfterSeconds);
  if (options.retryAfterMs !== undefined) headers['retry-after-ms'] = String(options.retryAfterMs);
  if (options.resetSeconds !== undefined) headers['x-ratelimit-reset'] = String(options.resetSeconds);
  return { kind: 'status', status: 429, headers };
}

/** The safety checker's 422 for a flagged prompt, as a scripted behavior. */
export function flagged(): FakeBehavior {
  return { kind: 'status', status: 422 };
}

/** The bytes the fake returns by default: deterministic in prompt, seed, sides, format and index. */
export function expectedImageBytes(request: FakeGenerationRequest, index = 0): Buffer {
  const label = JSON.stringify([request.prompt, request.seed ?? null, request.width, request.height, index]);
  return request.outputFormat === 'png' ? tinyPng(label) : tinyJpeg(label);
}

/** Together's error body: `{"error":{"message","type","param","code"}}`. */
export function errorBody(
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
): object {
  return { error: { message, type, param, code } };
}

function invalidRequest(message: string, param: string | null = null): object {
  return errorBody(message, 'invalid_request_error', param);
}

export async function startFakeTogether(options: FakeTogetherOptions = {}): Promise<FakeTogether> {
  const apiKey = options.apiKey ?? FAKE_TOGETHER_API_KEY;
  const models = options.models ?? [FAKE_TOGETHER_MODEL];
  const minSide = options.minSide ?? 64;
  const maxSide = options.maxSide ?? 1792;
  const generationPath = `${API_ROOT}/images/generations`;
  if (options.behavior) assertBehavior(options.behavior);

  let behavior: FakeBehavior = options.behavior ?? { kind: 'ok' };
  let latency: FakeLatency = options.latencyMs ?? 0;
  let rateLimit = options.rateLimit;
  let tokenBucket = options.tokenBucket;
  let tokens = tokenBucket?.burst ?? 0;
  let tokensAt = performance.now();
  /** performance.now() before which no request should arrive, from the retry-afters sent so far. */
  let notBefore = Number.NEGATIVE_INFINITY;
  let queue: FakeBehavior[] = [];
  let requests: RecordedRequest[] = [];
  let counters = emptyCounters();
  let inFlight = 0;
  let maxInFlight = 0;
  let nextId = 1;
  const images = new Map<string, { bytes: Buffer; contentType: string }>();
  const sockets = new Set<Socket>();
  const pending = new Set<AbortController>();
  const waiters = new Set<() => void>();
  const notify = (): void => waiters.forEach((check) => check());

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // A bug in the fake must surface in the test as a visible answer, never as an unhandled rejection.
      const message = error instanceof Error ? error.message : String(error);
      if (!response.headersSent && !response.destroyed) {
        const body = errorBody(`fake-together internal error: ${message}`, 'fake_internal_error');
        response.writeHead(500, JSON_TYPE).end(JSON.stringify(body));
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const receivedAt = performance.now();
    request.on('error', () => {});
    response.on('error', () => {});
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (request.method === 'GET' && path.startsWith(IMAGES_PATH)) return serveImage(path, response);

    let record: RecordedRequest | undefined;
    const controller = new AbortController();
    pending.add(controller);
    response.on('close', () => {
      pending.delete(controller);
      if (!response.writableFinished) controller.abort();
      if (record && record.outcome === 'pending' && !response.writableFinished) {
        record.outcome = 'abandoned';
        counters.abandoned += 1;
      }
    });
    let rawBody: string;
    try {
      rawBody = await readBody(request);
    } catch {
      return; // the client went away while sending
    }
    const early = receivedAt < notBefore;
    if (early) counters.earlyArrivals += 1;
    const recorded: RecordedRequest = {
      id: nextId++,
      early,
      method: request.method ?? '',
      path,
      headers: { ...request.headers },
      body: parseJson(rawBody),
      rawBody,
      receivedAt,
      status: null,
      outcome: 'pending',
    };
    record = recorded;
    requests.push(recorded);
    counters.requests += 1;
    notify();
    const answer = (status: number, body: object, headers: Record<string, string> = {}): void => {
      sendRecorded(recorded, response, status, JSON.stringify(body), { ...JSON_TYPE, ...headers });
    };

    if (path !== generationPath) return answer(404, invalidRequest(`Unknown path ${request.method} ${path}`));
    counters.generations += 1;
    if (request.method !== 'POST') {
      return answer(405, invalidRequest(`Method ${request.method} is not allowed; use POST`), { allow: 'POST' });
    }
    // The key itself is never put in an answer, right or wrong.
    if (request.headers.authorization !== `Bearer ${apiKey}`) return answer(401, defaultErrorBody(401));
    let bucketHeaders: Record<string, string> = {};
    if (tokenBucket) {
      const { granted, headers } = takeToken(tokenBucket, receivedAt);
      if (!granted) return answer(429, defaultErrorBody(429), headers);
      if (tokenBucket.headers !== false) bucketHeaders = headers;
    }
    if (rateLimit && inFlight >= rateLimit.maxInFlight) {
      return answer(429, defaultErrorBody(429), rateLimitHeaders(rateLimit));
    }
    const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/json') {
      return answer(400, invalidRequest('Content-Type must be application/json'));
    }
    if (recorded.body === undefined) return answer(400, invalidRequest('The request body is not valid JSON'));
    const checked = validate(recorded.body, { models, minSide, maxSide });
    if ('status' in checked) return answer(checked.status, checked.body);

    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    notify();
    try {
      const generation = checked.request;
      const chosen = options.behaviorFor?.(generation) ?? queue.shift() ?? behavior;
      const waitMs = typeof latency === 'function' ? latency(generation) : latency;
      if (!(await pause(waitMs, controller.signal))) return;
      const inferenceSeconds = Math.round(performance.now() - receivedAt) / 1000;
      await perform(
        chosen,
        generation,
        inferenceSeconds,
        recorded,
        request,
        response,
        controller.signal,
        bucketHeaders,
      );
    } finally {
      inFlight -= 1;
      notify();
    }
  }

  async function perform(
    chosen: FakeBehavior,
    generation: FakeGenerationRequest,
    inferenceSeconds: number,
    record: RecordedRequest,
    request: IncomingMessage,
    response: ServerResponse,
    signal: AbortSignal,
    extraHeaders: Record<string, string>,
  ): Promise<void> {
    switch (chosen.kind) {
      case 'ok': {
        const text = JSON.stringify(successBody(generation, inferenceSeconds));
        return sendRecorded(record, response, 200, text, { ...JSON_TYPE, ...extraHeaders });
      }
      case 'status': {
        const { text, contentType } = statusBody(chosen);
        const headers = Object.fromEntries(
          Object.entries(chosen.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
        );
        return sendRecorded(record, response, chosen.status, text, {
          'content-type': contentType,
          ...extraHeaders,
          ...headers,
        });
      }
      case 'hang':
        return new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      case 'reset':
        drop(record);
        request.socket.resetAndDestroy();
        return;
      case 'resetMidBody': {
        const text = JSON.stringify(successBody(generation, inferenceSeconds));
        drop(record);
        record.status = 200;
        response.writeHead(200, { ...JSON_TYPE, 'content-length': String(Buffer.byteLength(text)) });
        // Closing only once the half is flushed, so the client surely sees headers and a partial body.
        response.write(text.slice(0, Math.floor(text.length / 2)), () => request.socket.destroy());
        return;
      }
      case 'malformedJson': {
        const text = JSON.stringify(successBody(generation, inferenceSeconds));
        const broken = `${text.slice(0, Math.floor(text.length / 2))}<truncated`;
        return sendRecorded(record, response, 200, broken, JSON_TYPE);
      }
      case 'wrongContentType':
        return sendRecorded(record, response, 200, HTML_CHALLENGE_PAGE, { 'content-type': 'text/html; charset=utf-8' });
    }
  }

  function successBody(generation: FakeGenerationRequest, inferenceSeconds: number): object {
    const data = Array.from({ length: generation.n }, (_, index) => {
      const bytes = options.imageBytes?.(generation, index) ?? expectedImageBytes(generation, index);
      const timings = { inference: inferenceSeconds };
      if (generation.responseFormat === 'base64') {
        return { index, b64_json: bytes.toString('base64'), type: null, timings };
      }
      const name = `${randomBytes(8).toString('hex')}.${generation.outputFormat === 'png' ? 'png' : 'jpg'}`;
      images.set(name, { bytes, contentType: generation.outputFormat === 'png' ? 'image/png' : 'image/jpeg' });
      return { index, url: `${origin}${IMAGES_PATH}${name}`, type: null, timings };
    });
    return { id: `fake-${randomBytes(6).toString('hex')}`, model: generation.model, object: 'list', data };
  }

  /** Takes a token at `at` if there is one; the headers say where the bucket stands after the request. */
  function takeToken(bucket: FakeTokenBucket, at: number): { granted: boolean; headers: Record<string, string> } {
    tokens = Math.min(bucket.burst, tokens + ((at - tokensAt) / 1000) * bucket.ratePerSecond);
    tokensAt = at;
    const granted = tokens >= 1;
    if (granted) tokens -= 1;
    const headers: Record<string, string> = {};
    if (bucket.headers !== false) {
      headers['x-ratelimit-limit'] = String(bucket.burst);
      headers['x-ratelimit-remaining'] = String(Math.floor(tokens));
      headers['x-ratelimit-reset'] = seconds((bucket.burst - tokens) / bucket.ratePerSecond);
    }
    if (!granted) {
      const untilTokenMs = ((1 - tokens) / bucket.ratePerSecond) * 1000;
      Object.assign(headers, retryAfterHeaders(bucket.retryAfter ?? 'seconds', untilTokenMs));
    }
    return { granted, headers };
  }

  /** Remembers the retry-after an answer carries, so that requests arriving before it has passed count as early. */
  function rememberRetryAfter(headers: Record<string, string>, sentAt: number): void {
    const milliseconds = Number(headers['retry-after-ms']);
    const retryAfter = headers['retry-after'];
    let waitMs: number | undefined;
    if (headers['retry-after-ms'] !== undefined && Number.isFinite(milliseconds)) waitMs = milliseconds;
    else if (retryAfter !== undefined) {
      const secondsValue = Number(retryAfter);
      waitMs = Number.isFinite(secondsValue) ? secondsValue * 1000 : Date.parse(retryAfter) - Date.now();
    }
    if (waitMs !== undefined && Number.isFinite(waitMs) && waitMs > 0) {
      notBefore = Math.max(notBefore, sentAt + waitMs);
    }
  }

  function serveImage(path: string, response: ServerResponse): void {
    counters.downloads += 1;
    const image = images.get(path.slice(IMAGES_PATH.length));
    if (!image) {
      response.writeHead(404, JSON_TYPE).end(JSON.stringify(invalidRequest('No such image')));
      return;
    }
    const headers = { 'content-type': image.contentType, 'content-length': String(image.bytes.length) };
    response.writeHead(200, headers).end(image.bytes);
  }

  function sendRecorded(
    record: RecordedRequest,
    response: ServerResponse,
    status: number,
    text: string,
    headers: Record<string, string>,
  ): void {
    if (response.destroyed || response.headersSent) return;
    rememberRetryAfter(headers, performance.now());
    record.status = status;
    record.outcome = 'answered';
    counters.responsesByStatus[status] = (counters.responsesByStatus[status] ?? 0) + 1;
    response.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(text)) }).end(text);
  }

  function drop(record: RecordedRequest): void {
    record.outcome = 'dropped';
    counters.dropped += 1;
  }

  function waitUntil(predicate: () => boolean, description: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (predicate()) return resolve();
      const check = (): void => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake-together: timed out after ${timeoutMs} ms waiting for ${description}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
    });
  }

  let closing: Promise<void> | undefined;
  return {
    url: `${origin}${API_ROOT}`,
    apiKey,
    get requests() {
      return requests;
    },
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get counters() {
      return { ...counters, responsesByStatus: { ...counters.responsesByStatus } };
    },
    setBehavior(next) {
      assertBehavior(next);
      behavior = next;
    },
    enqueue(...behaviors) {
      behaviors.forEach(assertBehavior);
      queue.push(...behaviors);
    },
    setLatency(next) {
      latency = next;
    },
    setRateLimit(next) {
      rateLimit = next;
    },
    setTokenBucket(next) {
      tokenBucket = next;
      tokens = next?.burst ?? 0;
      tokensAt = performance.now();
    },
    whenInFlight(count, timeoutMs = 10_000) {
      return waitUntil(() => inFlight >= count, `${count} requests in flight (now ${inFlight})`, timeoutMs);
    },
    whenRequests(count, timeoutMs = 10_000) {
      return waitUntil(() => requests.length >= count, `${count} requests (now ${requests.length})`, timeoutMs);
    },
    reset() {
      behavior = options.behavior ?? { kind: 'ok' };
      latency = options.latencyMs ?? 0;
      rateLimit = options.rateLimit;
      tokenBucket = options.tokenBucket;
      tokens = tokenBucket?.burst ?? 0;
      tokensAt = performance.now();
      notBefore = Number.NEGATIVE_INFINITY;
      queue = [];
      requests = [];
      counters = emptyCounters();
      maxInFlight = inFlight;
      images.clear();
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        pending.forEach((controller) => controller.abort());
        sockets.forEach((socket) => socket.destroy());
      });
      return closing;
    },
  };
}

const API_ROOT = '/v1';
const IMAGES_PATH = '/files/';
const JSON_TYPE = { 'content-type': 'application/json' };
const STEPS_BOUNDS = { min: 1, max: 50 };
const N_BOUNDS = { min: 1, max: 4 };

// Cloudflare, in front of Together, answers these itself with an HTML page.
const CLOUDFLARE_TITLES: Record<number, string> = {
  520: 'Web server is returning an unknown error',
  524: 'A timeout occurred',
};

const HTML_CHALLENGE_PAGE =
  '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>' +
  '<body><noscript>Enable JavaScript and cookies to continue</noscript></body></html>';

function cloudflarePage(status: number, title: string): string {
  const rayId = randomBytes(8).toString('hex');
  return (
    `<!DOCTYPE html><html><head><title>api.together.xyz | ${status}: ${title}</title></head>` +
    `<body><h1>Error code ${status}</h1><p>${title}</p><p>Cloudflare Ray ID: ${rayId}</p></body></html>`
  );
}

function defaultErrorBody(status: number): object {
  switch (status) {
    case 400:
      return invalidRequest('Invalid request');
    case 401:
      return errorBody(
        'Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.',
        'invalid_api_key',
      );
    case 402:
      return invalidRequest(
        'Credit limit exceeded. Please navigate to https://api.together.xyz/settings/billing ' +
          'to add credit or upgrade your plan.',
      );
    case 404:
      return unknownModelBody(FAKE_TOGETHER_MODEL);
    case 422:
      return invalidRequest(
        'Your request was flagged by the safety checker: potential NSFW content was detected. ' +
          'Try again with a different prompt and/or seed.',
      );
    case 429:
      return errorBody(
        `You have reached the rate limit specific to this model ${FAKE_TOGETHER_MODEL}. ` +
          'Please try again later or upgrade your plan.',
        'model_rate_limit',
      );
    case 503:
      return errorBody('The server is overloaded or not ready yet.', 'server_error');
    default:
      return status >= 500
        ? errorBody('Internal server error', 'server_error')
        : invalidRequest(`Request failed with status ${status}`);
  }
}

function unknownModelBody(model: string): object {
  const message =
    `Unable to access model ${model}. ` +
    'Please visit https://api.together.ai/models to view the list of supported models.';
  return errorBody(message, 'invalid_request_error', null, 'model_not_available');
}

function statusBody(behavior: { status: number; body?: object }): { text: string; contentType: string } {
  if (behavior.body !== undefined) return { text: JSON.stringify(behavior.body), contentType: 'application/json' };
  const cloudflareTitle = CLOUDFLARE_TITLES[behavior.status];
  if (cloudflareTitle) {
    return { text: cloudflarePage(behavior.status, cloudflareTitle), contentType: 'text/html; charset=UTF-8' };
  }
  if (behavior.status < 400) return { text: '{}', contentType: 'application/json' };
  return { text: JSON.stringify(defaultErrorBody(behavior.status)), contentType: 'application/json' };
}

function rateLimitHeaders(rateLimit: FakeRateLimit): Record<string, string> {
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(rateLimit.maxInFlight),
    'x-ratelimit-remaining': '0',
  };
  if (rateLimit.retryAfterSeconds !== undefined) headers['retry-after'] = String(rateLimit.retryAfterSeconds);
  if (rateLimit.retryAfterMs !== undefined) headers['retry-after-ms'] = String(rateLimit.retryAfterMs);
  return headers;
}

type Validation = { request: FakeGenerationRequest } | { status: number; body: object };

function validate(body: unknown, limits: { models: readonly string[]; minSide: number; maxSide: number }): Validation {
  const invalid = (param: string, message: string): Validation => ({
    status: 400,
    body: invalidRequest(`${param} ${message}`, param),
  });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { status: 400, body: invalidRequest('The request body must be a JSON object') };
  }
  const fields = body as Record<string, unknown>;
  const { model, prompt, response_format: responseFormat, output_format: outputFormat } = fields;
  if (typeof model !== 'string') return invalid('model', 'is required and must be a string');
  if (!limits.models.includes(model)) {
    return { status: 404, body: unknownModelBody(model) };
  }
  if (typeof prompt !== 'string' || prompt.trim() === '') {
    return invalid('prompt', 'is required and must be a non-empty string');
  }
  for (const side of ['width', 'height'] as const) {
    const value = fields[side];
    if (value === undefined) continue;
    if (!isIntegerIn(value, limits.minSide, limits.maxSide) || value % 16 !== 0) {
      const allowed = `an integer multiple of 16 from ${limits.minSide} to ${limits.maxSide}`;
      return invalid(side, `must be ${allowed}, got ${describe(value)}`);
    }
  }
  const optionalIntegers = [
    ['steps', STEPS_BOUNDS],
    ['n', N_BOUNDS],
    ['seed', { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }],
  ] as const;
  for (const [param, bounds] of optionalIntegers) {
    const value = fields[param];
    if (value !== undefined && !isIntegerIn(value, bounds.min, bounds.max)) {
      return invalid(param, `must be an integer from ${bounds.min} to ${bounds.max}, got ${describe(value)}`);
    }
  }
  if (responseFormat !== undefined && responseFormat !== 'base64' && responseFormat !== 'url') {
    return invalid('response_format', `must be "base64" or "url", got ${describe(responseFormat)}`);
  }
  if (outputFormat !== undefined && outputFormat !== 'jpeg' && outputFormat !== 'png') {
    return invalid('output_format', `must be "jpeg" or "png", got ${describe(outputFormat)}`);
  }
  const optionalTypes = {
    negative_prompt: 'string',
    image_url: 'string',
    guidance_scale: 'number',
    disable_safety_checker: 'boolean',
  };
  for (const [param, type] of Object.entries(optionalTypes)) {
    const value = fields[param];
    if (value !== undefined && typeof value !== type) {
      return invalid(param, `must be a ${type}, got ${describe(value)}`);
    }
  }
  return {
    request: {
      model,
      prompt,
      width: (fields.width as number | undefined) ?? 1024,
      height: (fields.height as number | undefined) ?? 1024,
      steps: fields.steps as number | undefined,
      seed: fields.seed as number | undefined,
      n: (fields.n as number | undefined) ?? 1,
      // Together answers with URLs unless asked for base64.
      responseFormat: responseFormat ?? 'url',
      outputFormat: outputFormat ?? 'jpeg',
    },
  };
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

function assertBehavior(behavior: FakeBehavior): void {
  if (behavior.kind === 'status' && !isIntegerIn(behavior.status, 200, 599)) {
    throw new TypeError(`status must be an integer from 200 to 599, got ${behavior.status}`);
  }
}

function emptyCounters(): FakeTogetherCounters {
  return {
    requests: 0,
    generations: 0,
    responsesByStatus: {},
    dropped: 0,
    abandoned: 0,
    downloads: 0,
    earlyArrivals: 0,
  };
}

/** Seconds with up to three decimals, as a header value. */
function seconds(value: number): string {
  return String(Math.round(Math.max(0, value) * 1000) / 1000);
}

function retryAfterHeaders(style: RetryAfterStyle, untilTokenMs: number): Record<string, string> {
  switch (style) {
    case 'seconds':
      return { 'retry-after': String(Math.max(1, Math.ceil(untilTokenMs / 1000))) };
    case 'milliseconds':
      return { 'retry-after-ms': String(Math.max(1, Math.ceil(untilTokenMs))) };
    case 'http-date':
      // An HTTP date has whole seconds: the first whole second at which the token is surely there.
      return { 'retry-after': new Date(Math.ceil((Date.now() + untilTokenMs) / 1000) * 1000).toUTCString() };
    case 'zero':
      return { 'retry-after': '0' };
    case 'negative':
      return { 'retry-after': '-1' };
    case 'huge':
      return { 'retry-after': '86400' };
    case 'missing':
      return {};
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
    request.on('close', () => {
      if (!request.complete) reject(new Error('request closed before its body was complete'));
    });
  });
}

/** Waits with a real timer; false when the signal fired first. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
