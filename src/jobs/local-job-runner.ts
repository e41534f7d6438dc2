import type { GenerationObserver } from '../generation/generation-observer.js';
import type { GenerationService } from '../generation/generation-service.js';
import type { ProgressEvent } from '../generation/types.js';
import type { Logger } from '../logger.js';
import { INTERNAL_ERROR } from '../generation/image-errors.js';
import { imageChangeOf } from './image-change.js';
import type { JobRunner, JobToRun } from './job-runner.js';
import type { JobStore } from './job-store.js';

export interface LocalJobRunnerOptions {
  service: GenerationService;
  store: JobStore;
  logger: Logger;
  /** Hears how each job ended (the job manager counts them in as it creates them). */
  observer?: GenerationObserver;
}

/** A job running in this process: what cancelling and shutting down need to reach. */
interface RunningJob {
  abort: AbortController;
  /** Settles once the job's final event is written. */
  done: Promise<void>;
}

/**
 * Runs each job's images in this process, as one batch of the generation service, and records every state change in
 * the store as the Redis work queue does (JobStore.recordImage): the store numbers the events, counts, and finishes
 * the job with its final event when the last image is final.
 */
export class LocalJobRunner implements JobRunner {
  private readonly running = new Map<string, RunningJob>();

  constructor(private readonly options: LocalJobRunnerOptions) {}

  get runningCount(): number {
    return this.running.size;
  }

  async run(job: JobToRun): Promise<void> {
    const abort = new AbortController();
    const id = job.job.id;
    const done = this.generate(job, abort.signal).then((status) => {
      this.running.delete(id);
      this.options.observer?.jobFinished?.(status);
    });
    this.running.set(id, { abort, done });
  }

  async cancel(jobId: string): Promise<boolean> {
    const running = this.running.get(jobId);
    if (!running) return false;
    await this.stop(jobId, running);
    return true;
  }

  /**
   * The store first, as the Redis queue does: images not started end CANCELLED there and the job is flagged, so that
   * it ends CANCELLED whichever image settles last; then the batch is aborted, which settles those in flight.
   */
  private async stop(jobId: string, running: RunningJob): Promise<void> {
    try {
      await this.options.store.cancel(jobId);
    } catch (error) {
      this.options.logger.error({ err: error, jobId }, 'job store cancel failed');
    }
    running.abort.abort();
  }

  async drain(graceMs: number): Promise<void> {
    const all = () => Promise.allSettled([...this.running.values()].map((job) => job.done));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace_over'>((resolve) => {
      timer = setTimeout(() => resolve('grace_over'), graceMs);
    });
    const outcome = await Promise.race([all().then(() => 'finished' as const), graceOver]);
    clearTimeout(timer);
    if (outcome === 'grace_over') {
      this.options.logger.warn({ jobs: this.running.size }, 'grace period over: cancelling running jobs');
      await Promise.all([...this.running].map(([id, job]) => this.stop(id, job)));
      await all();
    }
  }

  /** Runs the batch to its end, whatever happens, and answers how the job ended. */
  private async generate(
    { job, images, publicId, tenant }: JobToRun,
    signal: AbortSignal,
  ): Promise<'COMPLETED' | 'CANCELLED'> {
    const { store, service, logger } = this.options;
    const indexById = new Map(images.map((image, index) => [image.id, index]));
    // Store writes are chained so events land in order even when the store is remote.
    let writes: Promise<unknown> = Promise.resolve();
    const write = (task: () => Promise<unknown>) => {
      writes = writes
        .then(task)
        .catch((error: unknown) => logger.error({ err: error, jobId: publicId, tenant }, 'job store write failed'));
    };

    const onProgress = ({ image }: ProgressEvent) => {
      const change = imageChangeOf(image);
      const index = indexById.get(image.id);
      if (!change || index === undefined) return;
      const details = { prompt: images[index]?.prompt ?? '', retries: change.retries };
      write(() => store.recordImage(job.id, [index], change.patch, details));
    };

    try {
      // Logs name the batch by the id its client knows; the limiter's turns go by its owner (the token's tenant, or
      // the client address without tokens), which the same job id in two tenants never shares.
      await service.generateBatch(images, { signal, onProgress, batchId: publicId, tenant: job.owner });
    } catch (error) {
      // Validation ran before the job was stored, so this is a bug; the job still ends, and says so (below).
      logger.error({ err: error, jobId: publicId, tenant }, 'job failed unexpectedly');
    }
    // Every image not final by now (only a bug leaves one) fails with INTERNAL, and the store finishes the job with
    // it; after a normal batch every image is final and the store changes nothing.
    const every = images.map((_image, index) => index);
    write(() => store.recordImage(job.id, every, { status: 'FAILED', error: INTERNAL_ERROR }, { prompt: '' }));
    await writes;
    // The store decides how the job ended (a cancel that came after its last image counts for nothing).
    const cancelled = await store.isCancelled(job.id).catch(() => signal.aborted);
    return cancelled ? 'CANCELLED' : 'COMPLETED';
  }
}
