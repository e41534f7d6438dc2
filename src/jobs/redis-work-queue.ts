import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Job as QueueJob, Queue, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { GenerationService } from '../generation/generation-service.js';
import type { ImageRequest, ProgressEvent } from '../generation/types.js';
import type { Logger } from '../logger.js';
import { CANCELLED_ERROR, INTERNAL_ERROR } from '../generation/image-errors.js';
import { imageChangeOf } from './image-change.js';
import type { JobRunner, JobToRun } from './job-runner.js';
import { connectRedis, StoreUnavailableError } from './redis-connection.js';
import type { RedisJobStore } from './redis-job-store.js';

/** One upstream call's worth of work: an image, and the indexes of the job's identical requests it serves. */
interface ImageTask {
  jobId: string;
  /** Whose job: the limiter takes turns across tenants. */
  tenant: string;
  indexes: number[];
  request: ImageRequest;
}

/** An image task running in this replica: what cancelling and shutting down need to reach. */
interface LocalTask {
  abort: AbortController;
  /** Set when shutdown hands the image back to the queue: its states stop being recorded. */
  handingBack: boolean;
}

export interface RedisWorkQueueOptions {
  url: string;
  prefix: string;
  store: RedisJobStore;
  service: GenerationService;
  logger: Logger;
  /** Upstream requests in flight at once across every replica (and the most this replica runs). */
  concurrency: number;
  /** Publishes cancellations (a command connection). */
  publisher: Redis;
  /**
   * How long a replica's hold on an image lasts without renewal: a killed replica's images are taken over after
   * about twice this. BullMQ's default is 30 s; ours is 5 s, so that takeover takes about 10 s.
   */
  lockMs?: number;
  /** How long enqueueing a new job's images may take before the request fails SERVICE_UNAVAILABLE. Default 5 s. */
  enqueueTimeoutMs?: number;
  /**
   * How often this replica reads the cancel flags of the jobs it runs images of, in case it missed a cancellation's
   * broadcast (its subscriber was reconnecting). Default 2 s.
   */
  cancelCheckMs?: number;
}

const QUEUE_NAME = 'images';

/**
 * The images of every replica's jobs, in one BullMQ queue that every replica works on. The replica that created a
 * job enqueues its images (one task per distinct upstream call); any replica runs them under the shared budget:
 * BullMQ's global concurrency caps requests in flight across replicas, the UpstreamGate paces them and pauses every
 * replica on a refusal (and the queue stops handing out tasks for as long). The project's own retry policy runs
 * inside the task; BullMQ's attempts only recover a task whose replica died (its lock expired).
 */
export class RedisWorkQueue implements JobRunner {
  private readonly queue: Queue<ImageTask>;
  private readonly worker: Worker<ImageTask>;
  private readonly subscriber: Redis;
  private readonly local = new Map<string, Set<LocalTask>>();
  private readonly channel: string;
  private readonly connections: Redis[] = [];
  private cancelCheck: NodeJS.Timeout | undefined;

  constructor(private readonly options: RedisWorkQueueOptions) {
    const bullConnection = (name: string) => {
      const connection = connectRedis(options.url, { logger: options.logger, name, waitForRedis: true });
      this.connections.push(connection);
      return connection;
    };
    const prefix = `${options.prefix}:bull`;
    this.queue = new Queue<ImageTask>(QUEUE_NAME, { connection: bullConnection('queue'), prefix });
    const lockMs = options.lockMs ?? 5000;
    this.worker = new Worker<ImageTask>(QUEUE_NAME, (task, token) => this.process(task, token), {
      connection: bullConnection('worker'),
      prefix,
      concurrency: options.concurrency,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: 2,
      autorun: false,
    });
    this.queue.on('error', (error) => options.logger.debug({ err: { message: error.message } }, 'queue error'));
    this.worker.on('error', (error) => options.logger.debug({ err: { message: error.message } }, 'worker error'));
    this.worker.on('failed', (task, error) => void this.taskFailed(task, error));
    this.channel = `${options.prefix}:cancel`;
    this.subscriber = connectRedis(options.url, { logger: options.logger, name: 'cancel', waitForRedis: true });
    this.connections.push(this.subscriber);
    this.subscriber.on('message', (_channel: string, jobId: string) => this.abortLocal(jobId));
  }

  /** Sets the shared limits and starts working. */
  async start(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
    // Cancellations broadcast while the subscriber was away are lost: its return reads the flags instead, and so
    // does a modest timer, for a broadcast lost any other way.
    this.subscriber.on('ready', () => void this.checkCancelled());
    this.cancelCheck = setInterval(() => void this.checkCancelled(), this.options.cancelCheckMs ?? 2000);
    this.cancelCheck.unref();
    await this.applyLimits();
    // A Redis that comes back empty (no persistence) has lost the queue's settings: every replica sets them again.
    this.options.publisher.on('ready', () => void this.applyLimits().catch(() => {}));
    void this.worker.run().catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'image worker stopped');
    });
  }

  private async applyLimits(): Promise<void> {
    await this.queue.setGlobalConcurrency(this.options.concurrency);
    // queue.rateLimit() only pauses a queue that has a limiter; this one never limits by itself (the gate paces).
    await this.queue.setGlobalRateLimit(100_000, 1000);
  }

  /** The upstream asked to wait: no replica takes a new image for as long (those taken wait in the limiter). */
  pause(milliseconds: number): void {
    this.queue.rateLimit(milliseconds).catch(() => {});
  }

  /** Jobs with images running in this replica. */
  get runningCount(): number {
    return this.local.size;
  }

  /**
   * JobRunner: a job just created (by this replica) goes into the queue for every replica to work on; so does one
   * whose creator never got its images in (the store answered 'unstarted' to the same request again).
   */
  run({ job, images }: JobToRun): Promise<void> {
    return this.enqueue(job.id, images, job.owner);
  }

  /**
   * Enqueues a job's images: one task per distinct upstream call, under ids derived from the job's, so that doing it
   * twice adds nothing (and a task re-added after it ran finds its images final and skips the upstream). Fails with
   * StoreUnavailableError within `enqueueTimeoutMs`, after forgetting the job (best effort) so that the client's
   * retry with the same jobId starts it afresh; a job not forgotten is enqueued by a retry after a grace (see
   * RedisJobStore.create).
   */
  async enqueue(jobId: string, images: readonly ImageRequest[], tenant: string): Promise<void> {
    const adding = this.addTasks(jobId, images, tenant).then(() => this.options.store.markEnqueued(jobId));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('enqueue timed out')), this.enqueueTimeoutMs);
    });
    try {
      await Promise.race([adding, timeout]);
    } catch (error) {
      // Settled later, the tasks still land (and find the job, or skip it when it is gone).
      adding.catch(() => {});
      this.options.logger.error({ err: { message: (error as Error).message }, jobId }, 'enqueueing images failed');
      await this.options.store.discardUnqueued(jobId).catch(() => false);
      throw new StoreUnavailableError(error);
    } finally {
      clearTimeout(timer);
    }
  }

  private get enqueueTimeoutMs(): number {
    return this.options.enqueueTimeoutMs ?? 5000;
  }

  private async addTasks(jobId: string, images: readonly ImageRequest[], tenant: string): Promise<void> {
    const groups = this.options.service.groupIdenticalRequests(images);
    // BullMQ ids may hold neither ':' nor only digits, and a client's job id may hold anything: hash it.
    const base = createHash('sha256').update(jobId).digest('hex').slice(0, 32);
    await this.queue.addBulk(
      groups.map((group, index) => {
        const first = group.memberIndexes[0] ?? 0;
        return {
          name: 'image',
          data: { jobId, tenant, indexes: group.memberIndexes, request: images[first] as ImageRequest },
          opts: {
            jobId: `${base}-${index}`,
            attempts: 3,
            removeOnComplete: true,
            removeOnFail: { age: 24 * 3600, count: 1000 },
          },
        };
      }),
    );
  }

  /** Cancels a job on every replica: the flag in its hash, then a broadcast to the replicas running its images. */
  async cancel(jobId: string): Promise<boolean> {
    const known = await this.options.store.cancel(jobId);
    if (known) await this.options.publisher.publish(this.channel, jobId);
    return known;
  }

  /**
   * Stops taking images, lets those running finish for up to `graceMs`, then hands what is left back to the queue
   * for another replica (its request here is aborted; nothing is recorded as cancelled).
   */
  async drain(graceMs: number): Promise<void> {
    const closing = this.worker.close();
    const outcome = await Promise.race([closing.then(() => 'closed' as const), sleep(graceMs, 'grace_over' as const)]);
    if (outcome === 'grace_over') {
      this.options.logger.warn({ jobs: this.runningCount }, 'grace period over: handing images back to the queue');
      for (const tasks of this.local.values()) {
        for (const task of tasks) {
          task.handingBack = true;
          task.abort.abort();
        }
      }
      await closing;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.cancelCheck);
    await this.worker.close(true).catch(() => {});
    await this.queue.close().catch(() => {});
    for (const connection of this.connections) connection.disconnect();
  }

  private abortLocal(jobId: string): void {
    for (const task of this.local.get(jobId) ?? []) task.abort.abort();
  }

  /** Reads the cancel flag of every job this replica runs images of, in one round trip, and aborts the cancelled. */
  private async checkCancelled(): Promise<void> {
    const jobIds = [...this.local.keys()];
    if (jobIds.length === 0) return;
    try {
      const flags = await this.options.store.cancelledAmong(jobIds);
      jobIds.forEach((jobId, index) => {
        if (flags[index]) this.abortLocal(jobId);
      });
    } catch {
      // Redis is away: the next check, or the subscriber's return, tries again.
    }
  }

  private async process(task: QueueJob<ImageTask>, token: string | undefined): Promise<void> {
    const { jobId, tenant, indexes, request } = task.data;
    const { store, service } = this.options;
    const record = (patch: Parameters<RedisJobStore['recordImage']>[2], retries = 0) =>
      store.recordImage(jobId, indexes, patch, { prompt: request.prompt, retries });
    const local: LocalTask = { abort: new AbortController(), handingBack: false };
    const tasks = this.local.get(jobId) ?? new Set();
    tasks.add(local);
    this.local.set(jobId, tasks);
    try {
      // Registered before the flag is read, so a cancellation broadcast after this point reaches the task.
      const state = await store.taskState(jobId, indexes);
      // Gone (never enqueued properly, or expired), or already recorded by an earlier run: nothing to pay for.
      if (!state.exists || state.settled) return;
      if (state.cancelled) {
        await record({ status: 'CANCELLED', error: CANCELLED_ERROR });
        return;
      }
      let writes: Promise<unknown> = Promise.resolve();
      let writeFailed: unknown;
      const onProgress = ({ image }: ProgressEvent) => {
        const change = imageChangeOf(image);
        if (local.handingBack || !change) return;
        // In order, one after another: each state lands after the one before it.
        writes = writes
          .then(() => record(change.patch, change.retries))
          .catch((error: unknown) => {
            writeFailed ??= error;
          });
      };
      // A run after a replica died goes on from the attempts that one made: the retry budget counts them.
      await service.generateBatch([request], {
        signal: local.abort.signal,
        onProgress,
        batchId: jobId,
        tenant,
        attemptsSoFar: state.attempts,
      });
      await writes;
      if (local.handingBack) {
        await record({ status: 'QUEUED', retryInMs: null });
        await task.moveToWait(token);
        throw new WaitingError();
      }
      // The image's final state did not reach Redis: BullMQ runs the task again once Redis answers.
      if (writeFailed) throw writeFailed;
    } finally {
      tasks.delete(local);
      if (tasks.size === 0) this.local.delete(jobId);
    }
  }

  /** A task that will not run again (a replica kept dying on it, or Redis failed it): its images fail and say why. */
  private async taskFailed(task: QueueJob<ImageTask> | undefined, error: Error): Promise<void> {
    if (!task || error instanceof WaitingError) return;
    // 'failed' also fires for an attempt that BullMQ will retry; only a task left in the failed set is over.
    const state = await task.getState().catch(() => 'unknown');
    if (state !== 'failed') return;
    this.options.logger.error({ err: { message: error.message }, jobId: task.data.jobId }, 'image task gave up');
    await this.options.store
      .recordImage(
        task.data.jobId,
        task.data.indexes,
        {
          status: 'FAILED',
          error: INTERNAL_ERROR,
        },
        { prompt: task.data.request.prompt },
      )
      .catch(() => {});
  }
}
