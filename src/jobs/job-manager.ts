import { createHash, randomUUID } from 'node:crypto';
import { emptyTally, statsOf } from '../generation/job-tally.js';
import { queuedResult } from '../generation/batch-tracker.js';
import type { GenerationObserver } from '../generation/generation-observer.js';
import type { GenerationService } from '../generation/generation-service.js';
import { roundDimensions } from '../generation/image-limits.js';
import type { EncodedImage, ImageRequest } from '../generation/types.js';
import type { Logger } from '../logger.js';
import { JobConflictError, JobNotFoundError, ShuttingDownError, TooManyWaitingError } from './job-errors.js';
import type { JobRunner } from './job-runner.js';
import type { GetOptions, JobStore, StoredJob } from './job-store.js';
import { type GenerationEvent, type JobInput, LOCAL_TENANT } from './types.js';

export interface JobManagerOptions {
  service: GenerationService;
  store: JobStore;
  /** Runs the images of the jobs this manager creates: in this process, or on a queue every replica works on. */
  runner: JobRunner;
  logger: Logger;
  /** How long a subscription waits for a job id that is not known yet. */
  subscribeWaitMs: number;
  /** Subscriptions one owner may have waiting for job ids that are not known yet. Default: no limit. */
  maxWaitingPerOwner?: number;
  observer?: GenerationObserver;
}

export interface StartedJob {
  job: StoredJob;
  /** Settles with the finished job. */
  finished: Promise<StoredJob>;
}

/**
 * Runs batches as jobs: keeps them in the store for replay, makes a client-chosen jobId an idempotency key, and
 * cancels or drains them. The same path whatever keeps the jobs and runs their images: the store answers for the job
 * and its events, the runner for its images.
 *
 * Every job belongs to a tenant, and the store keys it by tenant and id together: the same id in two tenants is two
 * jobs, and a job of another tenant is, to every method here, exactly an unknown id (there is no second code path
 * that could answer differently). Callers see the job id they chose; only the store sees the tenant's prefix.
 * A call that names no tenant is the local tenant's, which no token's tenant can ever be.
 */
export class JobManager {
  private readonly waitingByOwner = new Map<string, number>();
  private accepting = true;

  constructor(private readonly options: JobManagerOptions) {}

  get isAccepting(): boolean {
    return this.accepting;
  }

  /** Jobs with images running in this process. */
  get runningCount(): number {
    return this.options.runner.runningCount;
  }

  /** Throws while the server drains, so that no new work starts. */
  assertAccepting(): void {
    if (!this.accepting) throw new ShuttingDownError();
  }

  /**
   * Creates the job and starts its images, or answers the job already under its id when the same request comes again
   * (a retry after a lost answer, say: nothing more is spent upstream).
   */
  async start(input: JobInput): Promise<StartedJob> {
    this.assertAccepting();
    const { service, store, runner } = this.options;
    const images = service.validate(input.images);
    const tenant = input.tenant ?? LOCAL_TENANT;
    const publicId = input.jobId ?? randomUUID();
    const id = storeKey(tenant, publicId);
    // Identical requests share one upstream call: every one but the first says so from its first event on.
    const sharing = new Set(service.groupIdenticalRequests(images).flatMap((group) => group.memberIndexes.slice(1)));
    const candidate: StoredJob = {
      id,
      status: 'RUNNING',
      results: images.map((image, index) => queuedResult(describe(image, service, sharing.has(index)))),
      stats: statsOf(emptyTally(images.length)),
      createdAt: new Date(),
      finishedAt: null,
      fingerprint: fingerprintOf(images),
      owner: input.owner ?? 'anonymous',
    };
    const outcome = await store.create(candidate);
    if (outcome === 'conflict') throw new JobConflictError(publicId);
    if (outcome === 'created') this.options.observer?.jobStarted?.();
    if (outcome === 'created' || outcome === 'unstarted')
      await runner.run({ job: candidate, images, publicId, tenant });
    const job = publicView((await store.get(id)) ?? candidate, publicId);
    let finished: Promise<StoredJob> | undefined;
    return {
      job,
      // Followed only when asked for: startWorksheetImages answers at once and follows nothing.
      get finished() {
        finished ??= follow();
        return finished;
      },
    };
    function follow() {
      return finishedJob(store, id, publicId).then((done) => publicView(done, publicId));
    }
  }

  /** The tenant's job with this id, or undefined: unknown, no longer kept, or another tenant's. */
  async get(id: string, tenant: string = LOCAL_TENANT, options?: GetOptions): Promise<StoredJob | undefined> {
    const job = await this.options.store.get(storeKey(tenant, id), options);
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
  async cancel(id: string, tenant: string = LOCAL_TENANT, options?: GetOptions): Promise<StoredJob> {
    const key = storeKey(tenant, id);
    // Unknown to the runner is not yet unknown: a finished job is still in the store, and answered as it is.
    await this.options.runner.cancel(key);
    return publicView(await finishedJob(this.options.store, key, id, options), id);
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
   * Stops taking work, lets running jobs finish for up to `graceMs`, then cancels what is left (or, in Redis mode,
   * hands its images back to the queue for another replica). Every job ends with its final event either way.
   */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    await this.options.runner.drain(graceMs);
  }
}

/** The job once its final event is stored; JobNotFoundError when the store does not know it. */
async function finishedJob(store: JobStore, id: string, publicId: string, options?: GetOptions): Promise<StoredJob> {
  const job = await store.finished(id, options);
  if (!job) throw new JobNotFoundError(publicId);
  return job;
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

function describe(image: ImageRequest, service: GenerationService, deduplicated: boolean) {
  return {
    id: image.id,
    requestedDimensions: { width: image.width, height: image.height },
    dimensions: roundDimensions(image, service.limits),
    deduplicated,
  };
}
