import type { GenerationObserver } from '../generation/generation-observer.js';
import type { GenerationService } from '../generation/generation-service.js';
import { finalProgressOf, statsOf, tallyOf } from '../generation/job-tally.js';
import type { ImageResult, ProgressEvent } from '../generation/types.js';
import type { Logger } from '../logger.js';
import type { JobRunner, JobToRun } from './job-runner.js';
import type { JobStore } from './job-store.js';
import type { GenerationEvent } from './types.js';

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
 * Runs each job's images in this process, as one batch of the generation service, and writes every state change and
 * the final event to the store, numbered after the QUEUED events the store wrote when it created the job.
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
    running?.abort.abort();
    return running !== undefined;
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
      this.running.forEach((job) => job.abort.abort());
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
    const results: ImageResult[] = [...job.results];
    // The store wrote one QUEUED event per image when it created the job: 1 to n.
    let sequence = job.results.length;
    // Store writes are chained so events land in order even when the store is remote.
    let writes: Promise<unknown> = Promise.resolve();
    const write = (task: () => Promise<unknown>) => {
      writes = writes
        .then(task)
        .catch((error: unknown) => logger.error({ err: error, jobId: publicId, tenant }, 'job store write failed'));
    };

    const onProgress = (event: ProgressEvent) => {
      // The batch announces its images QUEUED, as the store already has.
      if (event.image.status === 'QUEUED') return;
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
      // One link of the chain per event, not two: a 4-image job has 9 events after its QUEUED ones, each a few
      // promises deep.
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
        results: results.map((result) => ({
          ...result,
          status: 'FAILED' as const,
          error: {
            code: 'INTERNAL' as const,
            message: 'Unexpected error while generating this image.',
            retryable: true,
          },
        })),
        stats: statsOf({ ...tallyOf(job.stats), failed: images.length }),
      };
    }
    const finishedAt = new Date();
    const final: GenerationEvent = {
      jobId: job.id,
      sequence: ++sequence,
      image: null,
      progress: finalProgressOf(outcome.stats),
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
    return outcome.status === 'CANCELLED' ? 'CANCELLED' : 'COMPLETED';
  }
}
