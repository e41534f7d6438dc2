import { createHash, randomUUID } from 'node:crypto';
import { queuedResult } from '../generation/batch-tracker.js';
import type { GenerationObserver } from '../generation/generation-observer.js';
import type { GenerationService } from '../generation/generation-service.js';
import { roundDimensions } from '../generation/image-limits.js';
import type { EncodedImage, ImageRequest, ImageResult, ProgressEvent } from '../generation/types.js';
import type { Logger } from '../logger.js';
import { JobConflictError, JobNotFoundError, ShuttingDownError, TooManyWaitingError } from './job-errors.js';
import type { JobStore, StoredJob } from './job-store.js';
import type { RedisJobStore } from './redis-job-store.js';
import type { RedisWorkQueue } from './redis-work-queue.js';
import { type GenerationEvent, type JobInput, LOCAL_TENANT } from './types.js';

export interface JobManagerOptions {
  service: GenerationService;
  store: JobStore;
  logger: Logger;
  /** How long a subscription waits for a job id that is not known yet. */
  subscribeWaitMs: number;
  /** Subscriptions one owner may have waiting for job ids that are not known yet. Default: no limit. */
  maxWaitingPerOwner?: number;
  observer?: GenerationObserver;
  /**
   * Set when REDIS_URL is: jobs live in Redis and their images run on whichever replica's worker takes them, so
   * this process neither runs a job's batch itself nor holds what it needs to cancel or drain it.
   */
  shared?: { store: RedisJobStore; queue: RedisWorkQueue };
}

export interface StartedJob {
  job: StoredJob;
  /** Settles with the finished job. */
  finished: Promise<StoredJob>;
}

/** Jobs running in this process: what cancelling and shutting down need to reach. */
interface RunningJob {
  abort: AbortController;
  finished: Promise<StoredJob>;
}

/**
 * Runs batches as jobs: numbers their progress events, keeps them in the store for replay, makes a client-chosen
 * jobId an idempotency key, and cancels or drains them.
 *
 * Every job belongs to a tenant, and the store keys it by tenant and id together: the same id in two tenants is two
 * jobs, and a job of another tenant is, to every method here, exactly an unknown id (there is no second code path
 * that could answer differently). Callers see the job id they chose; only the store sees the tenant's prefix.
 * A call that names no tenant is the local tenant's, which no token's tenant can ever be.
 */
export class JobManager {
  private readonly running = new Map<string, RunningJob>();
  private readonly waitingByOwner = new Map<string, number>();
  private accepting = true;

  constructor(private readonly options: JobManagerOptions) {}

  get isAccepting(): boolean {
    return this.accepting;
  }

  /** Jobs this process runs (embedded mode) or image tasks it runs (shared mode). */
  get runningCount(): number {
    return this.options.shared?.queue.runningCount ?? this.running.size;
  }

  /** Throws while the server drains, so that no new work starts. */
  assertAccepting(): void {
    if (!this.accepting) throw new ShuttingDownError();
  }

  async start(input: JobInput): Promise<StartedJob> {
    this.assertAccepting();
    const images = this.options.service.validate(input.images);
    const tenant = input.tenant ?? LOCAL_TENANT;
    const publicId = input.jobId ?? randomUUID();
    const id = storeKey(tenant, publicId);
    const fingerprint = fingerprintOf(images);

    const candidate: StoredJob = {
      id,
      status: 'RUNNING',
      results: images.map((image) => queuedResult(describe(image, this.options.service))),
      stats: {
        total: images.length,
        successful: 0,
        failed: 0,
        cancelled: 0,
        pending: images.length,
        retries: 0,
        durationMs: 0,
      },
      createdAt: new Date(),
      finishedAt: null,
      fingerprint,
      owner: input.owner ?? 'anonymous',
    };
    if (this.options.shared) return this.startShared(candidate, images, publicId);
    const stored = await this.options.store.insert(candidate);
    if (stored !== candidate) {
      if (stored.fingerprint !== fingerprint) throw new JobConflictError(publicId);
      // The same request again (a retry after a lost answer, say): nothing more is spent upstream.
      const again = this.running.get(id)?.finished ?? this.finishedJob(id, publicId);
      return { job: publicView(stored, publicId), finished: again.then((job) => publicView(job, publicId)) };
    }

    const abort = new AbortController();
    this.options.observer?.jobStarted?.();
    const finished = this.run(candidate, images, abort.signal, { tenant, publicId });
    void finished.then((job) =>
      this.options.observer?.jobFinished?.(job.status === 'CANCELLED' ? 'CANCELLED' : 'COMPLETED'),
    );
    this.running.set(id, { abort, finished });
    void finished.finally(() => this.running.delete(id));
    return {
      job: publicView((await this.options.store.get(id)) ?? candidate, publicId),
      finished: finished.then((job) => publicView(job, publicId)),
    };
  }

  /**
   * Shared mode: the job hash is the authority. Only the replica whose create wins enqueues the images; the same
   * request sent to any replica answers the same job. `candidate.id` is the store's key (tenant and id).
   */
  private async startShared(
    candidate: StoredJob,
    images: readonly ImageRequest[],
    publicId: string,
  ): Promise<StartedJob> {
    const { store, queue } = this.options.shared as NonNullable<JobManagerOptions['shared']>;
    const outcome = await store.create(candidate, true);
    if (outcome === 'conflict') throw new JobConflictError(publicId);
    if (outcome === 'created') {
      this.options.observer?.jobStarted?.();
      await queue.enqueue(candidate.id, images, candidate.owner);
    }
    const job = publicView((await store.get(candidate.id)) ?? candidate, publicId);
    const follow = () => this.finishedJob(candidate.id, publicId).then((done) => publicView(done, publicId));
    let finished: Promise<StoredJob> | undefined;
    return {
      job,
      // Followed only when asked for: startWorksheetImages answers at once and follows nothing.
      get finished() {
        finished ??= follow();
        return finished;
      },
    };
  }

  /** The tenant's job with this id, or undefined: unknown, no longer kept, or another tenant's. */
  async get(id: string, tenant: string = LOCAL_TENANT): Promise<StoredJob | undefined> {
    const job = await this.options.store.get(storeKey(tenant, id));
    return job && publicView(job, id);
  }

  /**
   * One picture of the tenant's job, by the caller's request id; undefined when the job (or the tenant's access to
   * it), the image or its bytes are not there.
   */
  async image(id: string, requestId: string, tenant: string = LOCAL_TENANT): Promise<EncodedImage | undefined> {
    const { store } = this.options;
    const key = storeKey(tenant, id);
    if (store.image) return store.image(key, requestId);
    return (await store.get(key))?.results.find((result) => result.id === requestId)?.image ?? undefined;
  }

  /** Cancels a running job and answers it once every image has settled; a finished job is answered as it is. */
  async cancel(id: string, tenant: string = LOCAL_TENANT): Promise<StoredJob> {
    const key = storeKey(tenant, id);
    if (this.options.shared) {
      if (!(await this.options.shared.queue.cancel(key))) throw new JobNotFoundError(id);
      return publicView(await this.finishedJob(key, id), id);
    }
    const running = this.running.get(key);
    if (running) {
      running.abort.abort();
      return publicView(await running.finished, id);
    }
    const job = await this.options.store.get(key);
    if (!job) throw new JobNotFoundError(id);
    return publicView(job, id);
  }

  /**
   * The tenant's job's events after sequence `after` (all of them by default), replayed then live; see
   * JobStore.follow.
   */
  follow(
    id: string,
    options: { signal: AbortSignal; after?: number },
    tenant: string = LOCAL_TENANT,
  ): AsyncIterable<GenerationEvent> {
    const events = this.options.store.follow(storeKey(tenant, id), {
      waitMs: this.options.subscribeWaitMs,
      ...options,
    });
    return withPublicJobId(events, id);
  }

  /**
   * A subscriber about to wait for a job that does not exist yet takes one of its owner's waiting places first;
   * answers how to give it back (at the first event, or when the subscriber leaves). Over the limit it throws
   * TooManyWaitingError at once. A job that exists already costs no place.
   */
  async reserveWait(id: string, caller: { owner: string; tenant: string }): Promise<() => void> {
    const limit = this.options.maxWaitingPerOwner ?? Infinity;
    const exists = async () => (await this.options.store.get(storeKey(caller.tenant, id))) !== undefined;
    if (limit === Infinity) return () => {};
    const waiting = this.waitingByOwner.get(caller.owner) ?? 0;
    if (waiting >= limit) {
      if (await exists()) return () => {};
      throw new TooManyWaitingError(limit);
    }
    // Taken before the store is asked, so that subscriptions arriving together cannot all pass the check.
    this.waitingByOwner.set(caller.owner, waiting + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      const left = (this.waitingByOwner.get(caller.owner) ?? 1) - 1;
      if (left > 0) this.waitingByOwner.set(caller.owner, left);
      else this.waitingByOwner.delete(caller.owner);
    };
    if (await exists()) release();
    return release;
  }

  /**
   * Stops taking work, lets running jobs finish for up to `graceMs`, then cancels what is left.
   * Every job ends with its final event either way.
   */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    if (this.options.shared) {
      await this.options.shared.queue.drain(graceMs);
      return;
    }
    const all = () => Promise.allSettled([...this.running.values()].map((job) => job.finished));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace_over'>((resolve) => {
      timer = setTimeout(() => resolve('grace_over'), graceMs);
    });
    const outcome = await Promise.race([all().then(() => 'finished' as const), graceOver]);
    clearTimeout(timer);
    if (outcome === 'grace_over') {
      this.options.logger.warn({ jobs: this.running.size }, 'grace period over: cancelling running jobs');
      this.running.forEach((job) => job.abort.abort());
      await all();
    }
  }

  private async run(
    job: StoredJob,
    images: readonly ImageRequest[],
    signal: AbortSignal,
    { tenant, publicId }: { tenant: string; publicId: string },
  ): Promise<StoredJob> {
    const { store, service, logger } = this.options;
    const indexById = new Map(images.map((image, index) => [image.id, index]));
    const results: ImageResult[] = [...job.results];
    let sequence = 0;
    // Store writes are chained so events land in order even when the store is remote.
    let writes: Promise<unknown> = Promise.resolve();
    const write = (task: () => Promise<unknown>) => {
      writes = writes
        .then(task)
        .catch((error: unknown) => logger.error({ err: error, jobId: publicId, tenant }, 'job store write failed'));
    };

    const onProgress = (event: ProgressEvent) => {
      const index = indexById.get(event.image.id);
      if (index !== undefined) results[index] = event.image;
      const generationEvent: GenerationEvent = {
        jobId: job.id,
        sequence: ++sequence,
        image: event.image,
        progress: event.progress,
        stats: event.stats,
        done: false,
      };
      const snapshot = { status: 'RUNNING' as const, results: [...results], stats: event.stats, finishedAt: null };
      // One link of the chain per event, not two: a 4-image job has 13 events, each a few promises deep.
      write(async () => {
        try {
          await store.update(job.id, snapshot);
        } finally {
          // A failed update must not cost subscribers the event.
          await store.appendEvent(generationEvent);
        }
      });
    };

    let outcome: Awaited<ReturnType<typeof service.generateBatch>>;
    try {
      // Logs name the batch by the id its client knows; the limiter's turns go by its owner (the token's tenant, or
      // the client address without tokens), which the same job id in two tenants never shares.
      outcome = await service.generateBatch(images, { signal, onProgress, batchId: publicId, tenant: job.owner });
    } catch (error) {
      // Validation ran before the job was stored, so this is a bug; the job still ends, and says so.
      logger.error({ err: error, jobId: publicId, tenant }, 'job failed unexpectedly');
      outcome = {
        status: 'COMPLETED' as const,
        results: images.map((image, index) => ({
          ...(results[index] ?? queuedResult(describe(image, service))),
          status: 'FAILED' as const,
          error: {
            code: 'INTERNAL' as const,
            message: 'Unexpected error while generating this image.',
            retryable: true,
          },
        })),
        stats: { ...job.stats, failed: images.length, pending: 0 },
      };
    }
    const finishedAt = new Date();
    const final: GenerationEvent = {
      jobId: job.id,
      sequence: ++sequence,
      image: null,
      progress: {
        completed: outcome.stats.total - outcome.stats.pending,
        total: outcome.stats.total,
        errors: outcome.stats.failed,
        current: null,
      },
      stats: outcome.stats,
      done: true,
    };
    write(async () => {
      try {
        await store.update(job.id, {
          status: outcome.status,
          results: outcome.results,
          stats: outcome.stats,
          finishedAt,
        });
      } finally {
        await store.appendEvent(final);
      }
    });
    await writes;
    return { ...job, status: outcome.status, results: outcome.results, stats: outcome.stats, finishedAt };
  }

  private async finishedJob(id: string, publicId: string): Promise<StoredJob> {
    const job = await this.options.store.get(id);
    if (!job) throw new JobNotFoundError(publicId);
    if (job.finishedAt !== null) return job;
    // Running on another server: follow its events to the end.
    for await (const event of this.options.store.follow(id, { waitMs: 0, signal: new AbortController().signal })) {
      if (event.done) break;
    }
    return (await this.options.store.get(id)) ?? job;
  }
}

/**
 * Where the store keeps a tenant's job. A tenant's name never contains "/", so the first "/" ends it and no pair of
 * (tenant, id) can meet another's key.
 */
function storeKey(tenant: string, id: string): string {
  return `${tenant}/${id}`;
}

/** The job as its tenant sees it: under the id the client chose. */
function publicView(job: StoredJob, publicId: string): StoredJob {
  return job.id === publicId ? job : { ...job, id: publicId };
}

async function* withPublicJobId(events: AsyncIterable<GenerationEvent>, publicId: string) {
  for await (const event of events) yield { ...event, jobId: publicId };
}

function fingerprintOf(images: readonly ImageRequest[]): string {
  const normalized = images.map(({ id, prompt, width, height, seed }) => [id, prompt, width, height, seed ?? null]);
  return createHash('sha256').update(JSON.stringify(normalized)).digest('hex');
}

function describe(image: ImageRequest, service: GenerationService) {
  return {
    id: image.id,
    requestedDimensions: { width: image.width, height: image.height },
    dimensions: roundDimensions(image, service.limits),
    deduplicated: false,
  };
}
