import { createClient, type Client } from 'graphql-ws/client';
import { applyOutcomes, collectPlaceholders, type Worksheet } from '../worksheet/worksheet.js';
import { GraphQLRequestError, ImageGenerationError, isGraphQLErrorList } from './client-errors.js';
import type {
  GenerationJobFieldsFragment,
  GenerationProgressSubscription,
  GenerationStatsFieldsFragment,
  ImageRequestInput,
  ImageResultFieldsFragment,
  ImageStateFieldsFragment,
  ImageStatus,
  JobStatus,
} from './generated/graphql.js';
import { createHttpExecutor, operationText, type GraphQLExecutor } from './graphql-http.js';
import { createImageFiller, type ImageFiller } from './image-download.js';
import {
  cancelGenerationMutation,
  generateImageMutation,
  generationJobQuery,
  generationProgressSubscription,
  startWorksheetImagesMutation,
} from './operations.js';

export interface WorksheetImageGenerationServiceOptions {
  /**
   * The GraphQL endpoint over HTTP(S), e.g. https://example.org/graphql, or a path on the page's origin. In a browser
   * it defaults to the page's own origin's /graphql; elsewhere (Node, a server-side render) it is required.
   */
  url?: string;
  /** The endpoint for subscriptions; by default `url` with http→ws, https→wss. */
  wsUrl?: string;
  /** Sent as `Authorization: Bearer <token>` over HTTP and as connectionParams.authorization over WebSocket. */
  token?: string;
  /** A WebSocket constructor. Browsers have one; Node 20 needs `WebSocket` from 'ws'. */
  webSocketImpl?: unknown;
  fetchImpl?: typeof fetch;
  /** How often generationJob is polled once the WebSocket has failed. Default 1000 ms. */
  pollIntervalMs?: number;
  /**
   * Reconnects after the WebSocket closes abnormally, before falling back to polling. Default 2. Each reconnect
   * resubscribes with `after` set to the last event received, so no event comes twice.
   */
  retryAttempts?: number;
}

/** How far a worksheet's job has come; `current` is the prompt being worked on, when one is known. */
export interface GenerationProgress {
  completed: number;
  total: number;
  current: string | null;
  errors: number;
}

export interface IllustratedWorksheet {
  /** The job's id; null when the worksheet had no placeholder to fill and nothing was sent. */
  jobId: string | null;
  /** COMPLETED, or CANCELLED when the signal aborted (or the job was cancelled elsewhere) before every image was made. */
  status: Exclude<JobStatus, 'RUNNING'>;
  /** A copy with `src` (a data URL) on every placeholder that got a picture and `imageError` on every other. */
  worksheet: Worksheet;
  /** One result per placeholder, in page and element order; `requestId` is "<page>-<element>". */
  results: ImageResultFieldsFragment[];
  stats: GenerationStatsFieldsFragment;
}

export interface GenerateWorksheetOptions {
  /** Aborting cancels the job on the server; see generateImagesForWorksheet. */
  signal?: AbortSignal;
  /** The job id to use; a fresh UUID by default. The same id with the same images answers the existing job. */
  jobId?: string;
  /**
   * Called with an image's new state each time it changes: QUEUED, GENERATING, RETRYING (with `retryInMs` and the
   * `error` that caused it), then SUCCEEDED, FAILED or CANCELLED. Over polling, states that came and went between two
   * polls are not seen. Every image's final state is reported before the returned promise resolves.
   */
  onImage?: (image: ImageResultFieldsFragment) => void;
}

interface FollowOptions {
  onProgress: ((progress: GenerationProgress) => void) | undefined;
  onImage: ((image: ImageResultFieldsFragment) => void) | undefined;
  signal: AbortSignal | undefined;
}

type FinishedJob = Pick<IllustratedWorksheet, 'status' | 'results' | 'stats'>;
type GenerationEvent = GenerationProgressSubscription['generationProgress'];

const FINAL_STATUSES: ReadonlySet<ImageStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
/** The first reconnect waits this long, each further one twice as long. */
const RECONNECT_DELAY_MS = 250;
/**
 * Close codes after which reconnecting can help (as graphql-ws judges them): going away, abnormal closure, restart,
 * try again later. Any other close (a refused token, a bad request) would fail the same way again.
 */
const RECOVERABLE_CLOSE_CODES: ReadonlySet<number> = new Set([1001, 1005, 1006, 1012, 1013, 1014]);
const NO_STATS: GenerationStatsFieldsFragment = {
  total: 0,
  successful: 0,
  failed: 0,
  cancelled: 0,
  pending: 0,
  retries: 0,
  durationMs: 0,
};

/**
 * The worksheet-images API for an editor, in the browser or in Node: fills a worksheet's picture placeholders with
 * progress over graphql-ws, makes single images, cancels jobs. Queries and mutations go over HTTP (fetch).
 */
export class WorksheetImageGenerationService {
  private readonly execute: GraphQLExecutor;
  private readonly fillImages: ImageFiller;
  private readonly wsUrl: string;
  private readonly options: WorksheetImageGenerationServiceOptions;
  /**
   * Set when there is no endpoint: no `url` outside a web page. Constructing still works, so that a component module
   * which makes the service when it loads can be rendered on a server (Next.js); every call rejects with this instead.
   */
  private readonly missingUrl: TypeError | undefined;
  private socketClient: Client | undefined;
  private socketConnected = false;
  private disposed = false;
  private readonly running = new Set<(error: Error) => void>();

  constructor(options: WorksheetImageGenerationServiceOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      // The old service took the Together API key here; the key now lives on the server only.
      throw new TypeError('Expected an options object such as `{ url }`, or nothing for the same origin');
    }
    const endpoint = options.url ?? sameOriginEndpoint();
    const url = endpoint === undefined ? undefined : resolveUrl(endpoint, 'url');
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`Expected \`url\` to be an http(s) URL, got \`${endpoint}\``);
    }
    this.missingUrl = url
      ? undefined
      : new TypeError(
          'WorksheetImageGenerationService needs a `url` outside a web page served over http(s), e.g. ' +
            "`new WorksheetImageGenerationService({ url: 'http://127.0.0.1:4000/graphql' })`",
        );
    const { pollIntervalMs, retryAttempts } = options;
    if (pollIntervalMs !== undefined && !(Number.isFinite(pollIntervalMs) && pollIntervalMs > 0)) {
      throw new TypeError(`Expected \`pollIntervalMs\` to be a positive number, got \`${pollIntervalMs}\``);
    }
    if (retryAttempts !== undefined && !(Number.isInteger(retryAttempts) && retryAttempts >= 0)) {
      throw new TypeError(`Expected \`retryAttempts\` to be a whole number from 0, got \`${retryAttempts}\``);
    }
    this.options = options;
    const http = url && { url: url.href, token: options.token, fetchImpl: options.fetchImpl };
    this.execute = http ? createHttpExecutor(http) : () => Promise.reject(this.missingUrl);
    this.fillImages = http ? createImageFiller(http) : () => Promise.reject(this.missingUrl);
    this.wsUrl = options.wsUrl ? resolveUrl(options.wsUrl, 'wsUrl').href : (url?.href.replace(/^http/, 'ws') ?? '');
  }

  /**
   * Generates every placeholder of the worksheet as one job and answers the illustrated copy; the input is not
   * changed. It subscribes to generationProgress first, then starts the job with the same id, and reports each
   * event to `onProgress`. When the WebSocket cannot be used it falls back to polling generationJob over HTTP.
   *
   * Aborting the signal before the job was sent rejects with the signal's reason. Aborting later cancels the job on
   * the server and resolves with status CANCELLED: pictures made by then are kept, the rest carry a CANCELLED error.
   * Bad input rejects with a GraphQLRequestError whose code is BAD_USER_INPUT.
   */
  async generateImagesForWorksheet(
    worksheet: Worksheet,
    onProgress?: (progress: GenerationProgress) => void,
    options: GenerateWorksheetOptions = {},
  ): Promise<IllustratedWorksheet> {
    this.assertUsable();
    options.signal?.throwIfAborted();
    const placeholders = collectPlaceholders(worksheet);
    if (placeholders.length === 0) return { jobId: null, status: 'COMPLETED', worksheet, results: [], stats: NO_STATS };

    const jobId = options.jobId ?? newJobId();
    const images = placeholders.map(({ id, prompt, width, height, seed }) => ({ id, prompt, width, height, seed }));
    const job = await this.followJob(jobId, images, { onProgress, onImage: options.onImage, signal: options.signal });
    const outcomes = job.results.map((result) => ({ id: result.requestId, src: result.image, error: result.error }));
    return { jobId, ...job, worksheet: applyOutcomes(worksheet, outcomes) };
  }

  /**
   * One picture as a data URL; throws ImageGenerationError (with the ImageError code) when the image failed. With a
   * `jobId` of the caller's choosing, `cancel(jobId)` from elsewhere stops it (it then fails CANCELLED), and sending
   * the same image with the same id again answers the same job.
   * Aborting the signal rejects with its reason and cancels the job on the server, whose upstream call stops.
   */
  async generateSingleImage(
    prompt: string,
    width: number,
    height: number,
    seed?: number | null,
    options: { signal?: AbortSignal; jobId?: string } = {},
  ): Promise<string> {
    this.assertUsable();
    options.signal?.throwIfAborted();
    const { signal } = options;
    // With a signal, the job gets an id of ours even when the caller chose none: aborting then cancels it on the
    // server too, instead of leaving it running for an answer nobody waits for.
    const jobId = options.jobId ?? (signal ? newJobId() : null);
    const onAbort = () => {
      if (jobId !== null) this.execute(cancelGenerationMutation, { jobId }).catch(() => {});
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const { generateImage: result } = await this.execute(
        generateImageMutation,
        { prompt, width, height, seed: seed ?? null, jobId },
        options,
      );
      if (!result.image) throw new ImageGenerationError(result);
      return result.image;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Cancels a job and answers it once every image is final; a finished job is answered as it is. Its results carry
   * each picture's `url` (fetch it with the same token), not the picture, so that a large job fits in one answer.
   */
  async cancel(jobId: string): Promise<GenerationJobFieldsFragment> {
    this.assertUsable();
    return (await this.execute(cancelGenerationMutation, { jobId })).cancelGeneration;
  }

  /**
   * A job as it is now; null when the server does not know it (or no longer keeps it). Its results carry each
   * picture's `url`, not the picture, as cancel's do.
   */
  async getJob(jobId: string): Promise<GenerationJobFieldsFragment | null> {
    this.assertUsable();
    return (await this.execute(generationJobQuery, { id: jobId })).generationJob;
  }

  /** Closes the WebSocket; calls still running reject, and later calls throw. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const error = new Error('The WorksheetImageGenerationService was disposed');
    for (const fail of [...this.running]) fail(error);
    const client = this.socketClient;
    this.socketClient = undefined;
    try {
      await client?.dispose();
    } catch {
      // The socket never opened: nothing to close.
    }
  }

  private followJob(
    jobId: string,
    images: ImageRequestInput[],
    { onProgress, onImage, signal }: FollowOptions,
  ): Promise<FinishedJob> {
    return new Promise<FinishedJob>((resolve, reject) => {
      const latest = new Map<string, ImageResultFieldsFragment>();
      /** Each picture had so far, by requestId: from the events, else fetched from its `url`. */
      const pictures = new Map<string, string>();
      const reportedImages = new Map<string, string>();
      let lastSequence = 0;
      let lastReported = '';
      let settled = false;
      let started: Promise<unknown> | undefined;
      let polling = false;
      let pollTimer: ReturnType<typeof setTimeout> | undefined;
      let startTimer: ReturnType<typeof setTimeout> | undefined;
      let unsubscribe = () => {};
      let stopWaitingForConnection = () => {};

      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        unsubscribe();
        stopWaitingForConnection();
        clearTimeout(pollTimer);
        clearTimeout(startTimer);
        signal?.removeEventListener('abort', onAbort);
        this.running.delete(fail);
        outcome();
      };
      const succeed = (job: FinishedJob) => {
        if (settled) return;
        job.results.forEach(reportImage);
        // The last event seen may be older than the job's end: a cancel is answered by its mutation while the
        // stream's last events are still on the way, and a job read after the stream or between polls has moved on.
        // The last call to onProgress always tells where the job ended.
        const final = progressOf(job.results, images);
        if (progressKey(final) !== lastReported) report(final);
        if (!settled) settle(() => resolve(job));
      };
      const fail = (error: unknown) => settle(() => reject(error));
      const withPictures = async (results: readonly ImageStateFieldsFragment[]) => {
        const filled = await this.fillImages(results, pictures);
        for (const result of filled) if (result.image) pictures.set(result.requestId, result.image);
        return filled;
      };
      const finishWith = (job: GenerationJobFieldsFragment | null) => {
        if (!job) return fail(jobNotFound(jobId));
        const status = job.status === 'CANCELLED' ? 'CANCELLED' : 'COMPLETED';
        withPictures(job.results).then((results) => succeed({ status, results, stats: job.stats }), fail);
      };

      const report = (progress: GenerationProgress) => {
        lastReported = progressKey(progress);
        try {
          onProgress?.({ ...progress });
        } catch (error) {
          fail(error);
        }
      };

      // An image is reported once per state: a replayed event or an unchanged poll is not news.
      const reportImage = (image: ImageResultFieldsFragment) => {
        if (!onImage || settled) return;
        const key = JSON.stringify(image);
        if (reportedImages.get(image.requestId) === key) return;
        reportedImages.set(image.requestId, key);
        try {
          onImage({ ...image });
        } catch (error) {
          fail(error);
        }
      };

      const start = () => {
        started ??= this.execute(startWorksheetImagesMutation, { input: { jobId, images } });
        started.catch(fail);
        return started;
      };

      const onEvent = (event: GenerationEvent) => {
        // Resubscribing with `after` sends nothing twice; this guards against a server that replays anyway.
        if (event.sequence <= lastSequence) return;
        lastSequence = event.sequence;
        reconnects = 0;
        if (event.image) {
          latest.set(event.image.requestId, event.image);
          if (event.image.image) pictures.set(event.image.requestId, event.image.image);
          reportImage(event.image);
        }
        report(event.progress);
        if (!event.done) return;
        const results = images.map(({ id }) => latest.get(id));
        if (results.every((result) => result && FINAL_STATUSES.has(result.status))) {
          const status = event.stats.cancelled > 0 ? 'CANCELLED' : 'COMPLETED';
          succeed({ status, results: results as ImageResultFieldsFragment[], stats: event.stats });
        } else {
          this.execute(generationJobQuery, { id: jobId }).then(({ generationJob }) => finishWith(generationJob), fail);
        }
      };

      const poll = async () => {
        if (settled) return;
        try {
          const { generationJob: job } = await this.execute(generationJobQuery, { id: jobId });
          if (settled) return;
          if (!job) return fail(jobNotFound(jobId));
          if (job.status !== 'RUNNING') return finishWith(job);
          (await withPictures(job.results)).forEach(reportImage);
          if (settled) return;
          const progress = progressOf(job.results, images);
          // A poll that saw no change is not news.
          if (progressKey(progress) !== lastReported) report(progress);
          pollTimer = setTimeout(() => void poll(), this.options.pollIntervalMs ?? 1000);
        } catch (error) {
          fail(error);
        }
      };

      const fallBackToPolling = () => {
        if (settled || polling) return;
        if (this.disposed) return fail(new Error('The WorksheetImageGenerationService was disposed'));
        polling = true;
        unsubscribe();
        stopWaitingForConnection();
        start().then(
          () => poll(),
          () => undefined,
        );
      };

      const onAbort = () => {
        if (!started) return fail(signal?.reason ?? new Error('Aborted before the job was started'));
        started
          .then(() => this.execute(cancelGenerationMutation, { jobId }))
          .then(({ cancelGeneration }) => finishWith(cancelGeneration), fail);
      };

      this.running.add(fail);
      signal?.addEventListener('abort', onAbort, { once: true });

      let client: Client;
      try {
        client = this.subscriptionClient();
      } catch {
        // No WebSocket in this environment.
        return fallBackToPolling();
      }
      // graphql-ws itself does not retry (retryAttempts 0): it would resend the first variables and replay the job
      // from its start. Resubscribing here asks for the events after the last one received.
      let reconnects = 0;
      let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
      const subscribe = () => {
        const stop = client.subscribe<GenerationProgressSubscription>(
          { ...operationText(generationProgressSubscription), variables: { jobId, after: lastSequence } },
          {
            next: (result) => {
              if (isGraphQLErrorList(result.errors)) return fail(new GraphQLRequestError(result.errors));
              if (result.data) onEvent(result.data.generationProgress);
            },
            error: (error) => {
              if (isGraphQLErrorList(error)) return fail(new GraphQLRequestError(error));
              const retries = this.options.retryAttempts ?? 2;
              if (settled || polling || !isRecoverableClose(error) || reconnects >= retries) return fallBackToPolling();
              reconnects += 1;
              reconnectTimer = setTimeout(subscribe, RECONNECT_DELAY_MS * 2 ** (reconnects - 1));
            },
            complete: () => fallBackToPolling(),
          },
        );
        unsubscribe = () => {
          clearTimeout(reconnectTimer);
          stop();
        };
      };
      subscribe();
      // The job starts once the subscription is on the wire: graphql-ws sends it a few microtasks after the
      // connection is acknowledged, so a macrotask later it has gone out.
      const startAfterSubscribing = () => {
        startTimer = setTimeout(() => void start(), 0);
      };
      if (this.socketConnected) startAfterSubscribing();
      else stopWaitingForConnection = client.on('connected', startAfterSubscribing);
    });
  }

  private subscriptionClient(): Client {
    this.socketClient ??= createClient({
      url: this.wsUrl,
      webSocketImpl: this.options.webSocketImpl,
      ...(this.options.token ? { connectionParams: { authorization: `Bearer ${this.options.token}` } } : {}),
      retryAttempts: 0,
      connectionAckWaitTimeout: 10_000,
      on: {
        connected: () => {
          this.socketConnected = true;
        },
        closed: () => {
          this.socketConnected = false;
        },
      },
    });
    return this.socketClient;
  }

  private assertUsable() {
    if (this.missingUrl) throw this.missingUrl;
    if (this.disposed) throw new Error('The WorksheetImageGenerationService was disposed');
  }
}

function progressKey({ completed, total, errors, current }: GenerationProgress): string {
  return JSON.stringify([completed, total, errors, current]);
}

/** Progress as the server counts it (errors are FAILED images), from the images' states. */
function progressOf(results: readonly ImageStateFieldsFragment[], images: ImageRequestInput[]): GenerationProgress {
  const generating = results.find((result) => result.status === 'GENERATING');
  return {
    completed: results.filter((result) => FINAL_STATUSES.has(result.status)).length,
    total: results.length,
    current: images.find((image) => image.id === generating?.requestId)?.prompt ?? null,
    errors: results.filter((result) => result.status === 'FAILED').length,
  };
}

function isRecoverableClose(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && RECOVERABLE_CLOSE_CODES.has(code);
}

function jobNotFound(jobId: string): GraphQLRequestError {
  return new GraphQLRequestError([
    { message: `No generation job with id "${jobId}" is known to the server`, extensions: { code: 'NOT_FOUND' } },
  ]);
}

/** The page's own origin's /graphql, when this runs in a page served over http(s); the seed's service worked so. */
function sameOriginEndpoint(): string | undefined {
  const origin = globalThis.location?.origin;
  return origin?.startsWith('http') ? `${origin}/graphql` : undefined;
}

function resolveUrl(value: string, name: string): URL {
  try {
    return new URL(value, globalThis.location?.href);
  } catch {
    throw new TypeError(`Expected \`${name}\` to be a URL, got \`${value}\``);
  }
}

/** A v4 UUID; crypto.randomUUID exists only in secure contexts, getRandomValues everywhere. */
function newJobId(): string {
  if (typeof globalThis.crypto.randomUUID === 'function') return globalThis.crypto.randomUUID();
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
