import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { ProviderError } from '../providers/provider-error.js';
import type { ImageProvider } from '../providers/types.js';
import { BatchTracker } from './batch-tracker.js';
import { CANCELLED_ERROR } from './image-errors.js';
import { imageBatchSchema, isCheckedBatch, roundDimensions, type ImageLimits } from './image-limits.js';
import { InvalidInputError } from './input-error.js';
import { decideRetry, DEFAULT_BACKOFF, type RetryBudget, type RetrySettings } from './retry-policy.js';
import type { BatchOptions, BatchResult, Dimensions, ImageError, ImageRequest, ImageResult } from './types.js';
import type { GenerationObserver } from './generation-observer.js';
import {
  type LimiterSnapshot,
  RateLimitWaitExceeded,
  type UpstreamLimiter,
  type UpstreamOutcome,
  type UpstreamPermit,
} from './upstream-limiter.js';

export interface GenerationServiceOptions {
  provider: ImageProvider;
  limits: ImageLimits;
  maxAttempts: number;
  upstreamTimeoutMs: number;
  rateLimitMaxWaitMs: number;
  /** Shared by every batch of the process. */
  limiter: UpstreamLimiter;
  logger: Logger;
  /** Identifies identical requests beyond prompt, size and seed (model and steps). */
  requestFingerprint?: string;
  backoff?: { baseDelayMs: number; maxDelayMs: number };
  random?: () => number;
  /** Told about attempts, retries and outcomes, for metrics. */
  observer?: GenerationObserver;
}

/** One upstream call, shared by every request of the batch that asks for the very same image. */
export interface UniqueTask {
  prompt: string;
  seed: number | null;
  dimensions: Dimensions;
  memberIndexes: number[];
}

interface BatchContext {
  batchId: string;
  /** Whose batch this is, for fair turns across clients at the limiter. */
  tenant: string;
  tracker: BatchTracker;
  /** Aborted when the caller cancels or when the upstream says no image of the batch can succeed. */
  stop: AbortController;
  /** Set when a 401 or 402 stopped the batch: every image not yet done fails with it. */
  fatal: ProviderError | undefined;
  /** See BatchOptions.attemptsSoFar. */
  attemptsSoFar: number;
}

/** Thrown inside the limiter when a queued attempt finds its batch already stopped. */
const STOPPED = Symbol('stopped');

/**
 * Turns a batch of image requests into one result per request: in parallel under the shared limiter, retrying what
 * can pass, reporting every state change. It knows nothing of GraphQL or HTTP; providers do the talking upstream.
 */
export class GenerationService {
  private readonly retrySettings: RetrySettings;
  private readonly batchSchema: ReturnType<typeof imageBatchSchema>;
  private batchCounter = 0;

  constructor(private readonly options: GenerationServiceOptions) {
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.retrySettings = {
      maxAttempts: options.maxAttempts,
      rateLimitMaxWaitMs: options.rateLimitMaxWaitMs,
      baseDelayMs: backoff.baseDelayMs,
      maxDelayMs: backoff.maxDelayMs,
    };
    // Built once: a zod schema is costly to build, and every mutation validates.
    this.batchSchema = imageBatchSchema(options.limits);
  }

  get limits(): ImageLimits {
    return this.options.limits;
  }

  get provider(): ImageProvider {
    return this.options.provider;
  }

  /** Upstream requests in flight right now, across every batch. */
  get inFlight(): number {
    return this.options.limiter.activeCount;
  }

  /** The upstream limiter's concurrency limit, learned rate and pause, for metrics. */
  get upstreamLimits(): LimiterSnapshot {
    return this.options.limiter.snapshot();
  }

  /**
   * Checks a batch against the limits; throws InvalidInputError naming each bad field and its limit. A batch already
   * checked under the same limits (the GraphQL layer's, or this method's own answer) is answered as it is.
   */
  validate(requests: readonly ImageRequest[]): readonly ImageRequest[] {
    if (isCheckedBatch(requests, this.options.limits)) return requests;
    const parsed = this.batchSchema.safeParse(requests);
    if (!parsed.success) throw InvalidInputError.fromZod(parsed.error, 'images');
    return parsed.data;
  }

  async generateBatch(requests: readonly ImageRequest[], batchOptions: BatchOptions = {}): Promise<BatchResult> {
    const valid = this.validate(requests);
    const batchId = batchOptions.batchId ?? `batch-${++this.batchCounter}`;
    const tasks = this.groupIdenticalRequests(valid);
    const onProgress = batchOptions.onProgress;
    // Every member of a task but its first shares the first one's upstream call.
    const sharing = new Set(tasks.flatMap((task) => task.memberIndexes.slice(1)));
    const tracker = new BatchTracker(
      valid.map((request, index) => ({
        id: request.id,
        prompt: request.prompt,
        requestedDimensions: { width: request.width, height: request.height },
        dimensions: roundDimensions(request, this.options.limits),
        deduplicated: sharing.has(index),
      })),
      onProgress &&
        ((event) => {
          try {
            onProgress(event);
          } catch (error) {
            // A broken listener must not cost the batch its images.
            this.options.logger.error({ err: error, batchId }, 'progress listener threw');
          }
        }),
    );
    const context: BatchContext = {
      batchId,
      tenant: batchOptions.tenant ?? '',
      tracker,
      stop: new AbortController(),
      fatal: undefined,
      attemptsSoFar: batchOptions.attemptsSoFar ?? 0,
    };
    // Every waiting image listens to the batch's stop signal; a 100-image batch is not a listener leak.
    setMaxListeners(0, context.stop.signal);
    const cancel = () => context.stop.abort();
    batchOptions.signal?.addEventListener('abort', cancel, { once: true });
    if (batchOptions.signal?.aborted) cancel();

    this.options.logger.info(
      {
        batchId,
        tenant: batchOptions.tenant,
        images: valid.length,
        uniqueRequests: tasks.length,
        provider: this.options.provider.name,
      },
      'batch started',
    );
    tracker.announceQueued();
    try {
      await Promise.all(tasks.map((task) => this.runTask(task, context)));
    } finally {
      batchOptions.signal?.removeEventListener('abort', cancel);
    }
    tracker.finish();
    const stats = tracker.stats();
    const status = batchOptions.signal?.aborted ? 'CANCELLED' : 'COMPLETED';
    this.options.logger.info({ batchId, status, stats }, 'batch finished');
    return { status, results: tracker.snapshot(), stats };
  }

  /** One image, with the same validation, retries and limits as a batch. */
  async generateImage(request: ImageRequest, batchOptions: BatchOptions = {}): Promise<ImageResult> {
    const { results } = await this.generateBatch([request], batchOptions);
    const [result] = results;
    if (!result) throw new Error('a batch of one image returned no result');
    return result;
  }

  /** Requests asking for the very same image (prompt, size, seed, model), each group one upstream call. */
  groupIdenticalRequests(requests: readonly ImageRequest[]): UniqueTask[] {
    const byKey = new Map<string, UniqueTask>();
    requests.forEach((request, index) => {
      const dimensions = roundDimensions(request, this.options.limits);
      const seed = request.seed ?? null;
      const key = JSON.stringify([
        request.prompt,
        dimensions.width,
        dimensions.height,
        seed,
        this.options.requestFingerprint ?? '',
      ]);
      const existing = byKey.get(key);
      if (existing) existing.memberIndexes.push(index);
      else byKey.set(key, { prompt: request.prompt, seed, dimensions, memberIndexes: [index] });
    });
    return [...byKey.values()];
  }

  private async runTask(task: UniqueTask, context: BatchContext): Promise<void> {
    const observer = this.options.observer;
    const update = (patch: Parameters<BatchTracker['update']>[1]) =>
      task.memberIndexes.forEach((index) => {
        if (context.tracker.isTerminal(index)) return;
        context.tracker.update(index, patch);
        if (patch.status === 'SUCCEEDED' || patch.status === 'FAILED' || patch.status === 'CANCELLED') {
          observer?.imageFinished?.(patch.status, patch.error?.code ?? null);
        }
      });
    const budget: RetryBudget = { countedAttempts: context.attemptsSoFar, rateLimitedSince: undefined };
    let attempts = context.attemptsSoFar;
    const firstId = () => context.tracker.snapshot()[task.memberIndexes[0] ?? 0]?.id;

    try {
      for (;;) {
        let permit: UpstreamPermit;
        try {
          permit = await this.acquire(context, budget.rateLimitedSince);
        } catch (thrown) {
          if (thrown === STOPPED) {
            update(this.stoppedPatch(context, attempts));
            return;
          }
          if (thrown instanceof RateLimitWaitExceeded) {
            update({ status: 'FAILED', attempts, error: rateLimitDeadlineError(thrown, Date.now()) });
            return;
          }
          throw thrown;
        }
        budget.rateLimitedSince = permit.rateLimitedSince;
        if (context.stop.signal.aborted) {
          permit.release({ kind: 'unused' });
          update(this.stoppedPatch(context, attempts));
          return;
        }
        attempts += 1;
        if (attempts > 1) context.tracker.countRetry();
        update({ status: 'GENERATING', attempts });
        try {
          const image = await this.attempt(task, context, permit);
          update({ status: 'SUCCEEDED', image, attempts });
          return;
        } catch (thrown) {
          // The attempt that met a refused key or account stopped the batch itself; it reports its own error below.
          const stoppedByThisAttempt = context.fatal !== undefined && thrown === context.fatal;
          if (thrown === STOPPED || (context.stop.signal.aborted && !stoppedByThisAttempt)) {
            update(this.stoppedPatch(context, attempts));
            return;
          }
          const error = asProviderError(thrown, this.options.logger, context.batchId);
          if (error.code === 'UPSTREAM_AUTH' || error.code === 'OUT_OF_CREDITS') {
            update({ status: 'FAILED', attempts, error: publicError(error) });
            return;
          }
          const now = Date.now();
          if (error.code === 'RATE_LIMITED') budget.rateLimitedSince ??= now;
          else budget.countedAttempts += 1;

          const decision = decideRetry(error, budget, this.retrySettings, this.options.random, now);
          if (!decision.retry) {
            update({
              status: 'FAILED',
              attempts,
              error: finalError(error, decision.reason, attempts, this.retrySettings),
            });
            return;
          }
          // A refused image goes straight back in line: the limiter holds every request of the key until
          // retry-after has passed, so what it waits is the key's pause, not a sleep of its own.
          const waitMs = decision.rateLimited
            ? Math.max(0, this.options.limiter.snapshot().pausedUntil - now)
            : decision.delayMs;
          this.options.logger.warn(
            { batchId: context.batchId, imageId: firstId(), attempt: attempts, reason: error.reason, waitMs },
            'retrying image',
          );
          this.options.observer?.retryScheduled?.(error.reason, waitMs);
          update({ status: 'RETRYING', attempts, error: publicError(error), retryInMs: waitMs });
          if (decision.rateLimited) continue;
          try {
            await sleep(decision.delayMs, undefined, { signal: context.stop.signal });
          } catch {
            update(this.stoppedPatch(context, attempts));
            return;
          }
        }
      }
    } catch (unexpected) {
      // Whatever happens, every image ends in a terminal state that says why.
      this.options.logger.error({ err: unexpected, batchId: context.batchId }, 'image task failed unexpectedly');
      update({
        status: 'FAILED',
        attempts,
        error: { code: 'INTERNAL', message: 'Unexpected error while generating this image.', retryable: false },
      });
    }
  }

  /**
   * Waits for this image's turn at the shared limiter, in its tenant's and its batch's line. A stop takes a waiting
   * image out of the line at once: a cancelled batch must not sit behind other batches' requests.
   */
  private acquire(context: BatchContext, rateLimitedSince: number | undefined): Promise<UpstreamPermit> {
    return this.options.limiter
      .acquire({
        tenant: context.tenant,
        job: context.batchId,
        signal: context.stop.signal,
        ...(rateLimitedSince === undefined ? {} : { rateLimitedSince }),
      })
      .catch((error: unknown) => {
        throw context.stop.signal.aborted && error === context.stop.signal.reason ? STOPPED : error;
      });
  }

  /** One upstream call under `permit`, which it releases with what the upstream answered. */
  private async attempt(task: UniqueTask, context: BatchContext, permit: UpstreamPermit) {
    // One controller per attempt, aborted by the batch's stop or by the timeout. (AbortSignal.any would do the same
    // with two controllers, weak references and a finalizer per attempt; this is a listener and a timer.)
    const abort = new AbortController();
    const signal = abort.signal;
    const stop = context.stop.signal;
    let timedOut = false;
    const onStop = () => abort.abort(stop.reason);
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.options.upstreamTimeoutMs);
    const startedAt = performance.now();
    const finished = (outcome: string) =>
      this.options.observer?.attemptFinished?.(performance.now() - startedAt, outcome);
    let rateLimit: Extract<UpstreamOutcome, { kind: 'success' }>['rateLimit'];
    try {
      const image = await this.options.provider.generate(
        { prompt: task.prompt, width: task.dimensions.width, height: task.dimensions.height, seed: task.seed },
        signal,
        (headers) => {
          rateLimit = headers;
        },
      );
      finished('success');
      permit.release(rateLimit ? { kind: 'success', rateLimit } : { kind: 'success' });
      return image;
    } catch (error) {
      finished(
        context.stop.signal.aborted
          ? 'cancelled'
          : timedOut
            ? 'timeout'
            : error instanceof ProviderError
              ? error.reason
              : 'internal',
      );
      if (error instanceof ProviderError && (error.code === 'UPSTREAM_AUTH' || error.code === 'OUT_OF_CREDITS')) {
        // Stopped while still holding the permit: released first, it would let a queued image start an attempt.
        this.stopBatch(context, error);
      }
      permit.release(context.stop.signal.aborted && !context.fatal ? { kind: 'other' } : outcomeOf(error));
      if (context.stop.signal.aborted && context.fatal !== error) throw STOPPED;
      if (timedOut) {
        throw new ProviderError(`The image service did not answer within ${this.options.upstreamTimeoutMs} ms.`, {
          code: 'TIMEOUT',
          retryable: true,
          reason: 'timeout',
        });
      }
      throw error;
    } finally {
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
    }
  }

  private stopBatch(context: BatchContext, error: ProviderError): void {
    if (context.fatal) return;
    context.fatal = error;
    this.options.logger.error(
      { batchId: context.batchId, code: error.code, status: error.status },
      'upstream refused the key or the account: stopping the batch',
    );
    context.stop.abort();
  }

  private stoppedPatch(context: BatchContext, attempts: number): Parameters<BatchTracker['update']>[1] {
    if (context.fatal) {
      return {
        status: 'FAILED',
        attempts,
        error: {
          code: context.fatal.code,
          message: `Not generated: ${context.fatal.message}`,
          retryable: false,
        },
      };
    }
    return {
      status: 'CANCELLED',
      attempts,
      error: CANCELLED_ERROR,
    };
  }
}

function asProviderError(thrown: unknown, logger: Logger, batchId: string): ProviderError {
  if (thrown instanceof ProviderError) return thrown;
  logger.error({ err: thrown, batchId }, 'provider threw an unexpected error');
  return new ProviderError('Unexpected error while generating this image.', {
    code: 'INTERNAL',
    retryable: false,
    reason: 'internal',
  });
}

/** What the limiter learns from a failed attempt: a 429 pauses the key, a 503 lowers the limit. */
function outcomeOf(error: unknown): UpstreamOutcome {
  if (!(error instanceof ProviderError)) return { kind: 'other' };
  const details = {
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    ...(error.rateLimit === undefined ? {} : { rateLimit: error.rateLimit }),
  };
  if (error.code === 'RATE_LIMITED') return { kind: 'refused', ...details };
  if (error.status === 503) return { kind: 'overloaded', ...details };
  return { kind: 'other' };
}

function rateLimitDeadlineError(error: RateLimitWaitExceeded, now: number): ImageError {
  const seconds = (milliseconds: number) => Math.max(1, Math.round(milliseconds / 1000));
  const asked =
    error.pausedUntil !== undefined && error.pausedUntil > now
      ? ` (it asks for ${seconds(error.pausedUntil - now)} s more)`
      : '';
  return {
    code: 'RATE_LIMITED',
    message: `The image service's rate limit would keep this image waiting longer than ${seconds(error.maxWaitMs)} s${asked}. Try again later.`,
    retryable: true,
  };
}

function publicError(error: ProviderError): ImageError {
  return { code: error.code, message: error.message, retryable: error.retryable };
}

function finalError(
  error: ProviderError,
  reason: 'not_retryable' | 'attempts_exhausted' | 'rate_limit_deadline',
  attempts: number,
  settings: RetrySettings,
): ImageError {
  if (reason === 'attempts_exhausted') {
    return { code: error.code, message: `${error.message} Gave up after ${attempts} attempts.`, retryable: true };
  }
  if (reason === 'rate_limit_deadline') {
    return {
      code: 'RATE_LIMITED',
      message: `The image service's rate limit kept this image waiting longer than ${Math.round(settings.rateLimitMaxWaitMs / 1000)} s. Try again later.`,
      retryable: true,
    };
  }
  return publicError(error);
}
