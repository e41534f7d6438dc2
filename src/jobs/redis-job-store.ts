import type { Redis } from 'ioredis';
import type { ImagePatch } from '../generation/batch-tracker.js';
import type { GenerationObserver } from '../generation/generation-observer.js';
import { finalProgressOf, type JobTally, progressOf, statsOf } from '../generation/job-tally.js';
import { TERMINAL_STATUSES } from '../generation/states.js';
import { CANCELLED_ERROR } from '../generation/image-errors.js';
import type { EncodedImage, ImageResult } from '../generation/types.js';
import type { CreateOutcome, FollowOptions, GetOptions, ImageDetails, JobStore, StoredJob } from './job-store.js';
import { CANCEL_JOB, CREATE_JOB, DISCARD_UNQUEUED, MARK_ENQUEUED, RECORD_IMAGE, RETAIN_JOB } from './redis-scripts.js';
import type { StreamMultiplexer } from './redis-stream-multiplexer.js';
import type { GenerationEvent } from './types.js';

export interface RedisJobStoreOptions {
  /** Commands that answer at once (no BLOCK). */
  redis: Redis;
  /** Serves every subscriber of this replica over one blocking connection. */
  streams: StreamMultiplexer;
  /** How long a finished job stays readable. */
  retentionMs: number;
  /** At most this many finished jobs are kept; the oldest go first. */
  maxRetained?: number;
  /** At most this many picture bytes are kept across finished jobs; the oldest finished jobs go first. */
  maxRetainedBytes?: number;
  /** How long a job may stay unfinished before Redis forgets it anyway (a bound, in case no replica finishes it). */
  runningTtlMs?: number;
  /** Key prefix, e.g. "wi"; tests use their own. */
  prefix?: string;
  now?: () => number;
  /**
   * How long after its creation a job whose images never reached the work queue is taken for abandoned by its
   * creator: the same request then answers 'unstarted', and its caller enqueues them. Default: never.
   */
  enqueueGraceMs?: number;
  /** Told once per job, by the replica whose write finished it, for jobs_finished_total. */
  observer?: Pick<GenerationObserver, 'jobFinished'>;
}

/** What a replica about to run an image task needs to know of its job, read in one round trip. */
export interface TaskState {
  /** False when the job is gone (expired, or discarded because its images never reached the queue). */
  exists: boolean;
  cancelled: boolean;
  /** Every image of the task is final already: a task re-run after its images were recorded has nothing to do. */
  settled: boolean;
  /** Upstream attempts already made for the task's images (by a replica that died, or handed them back). */
  attempts: number;
}

/** A picture as a result holds it in Redis: its bytes live in their own key. */
interface ImageRef {
  mimeType: string;
  size: number;
  ref: number;
}

type StoredResult = Omit<ImageResult, 'image'> & { image: ImageRef | null };

/**
 * What the scripts write into the stream: a GenerationEvent without its job id, pictures as references, and the raw
 * counts in place of stats and progress, which are derived on read as the in-process mode derives them.
 */
interface StreamEvent {
  sequence: number;
  image: StoredResult | null;
  tally: JobTally;
  /** The prompt most recently set in flight among those still in flight. */
  current: string | null;
  done: boolean;
}

type Script = (keys: string[], args: (string | number | Buffer)[]) => Promise<unknown>;

/** A picture left unread (see GetOptions): it says that the image has one, and of which type. */
const UNREAD_BYTES = Buffer.alloc(0);

const DAY_MS = 24 * 3_600_000;

/**
 * Jobs and their progress in Redis, shared by every replica started with the same REDIS_URL: one hash and one stream
 * per job under a `{jobId}` hash tag, and one key per picture. Changes go through Lua scripts (src/jobs/redis-scripts.ts)
 * so that concurrent writers stay consistent; the stream entry id is `0-<sequence>`, so replay after a sequence is an
 * exclusive XRANGE and following is XREAD from the last id seen, with no gap and no duplicate.
 */
export class RedisJobStore implements JobStore {
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly scripts: Record<
    'create' | 'record' | 'cancel' | 'retain' | 'markEnqueued' | 'discardUnqueued',
    Script
  >;

  constructor(private readonly options: RedisJobStoreOptions) {
    this.prefix = options.prefix ?? 'wi';
    this.now = options.now ?? Date.now;
    const define = (source: string): Script => {
      // EVALSHA with a fallback to EVAL, as ioredis' defineCommand does, without widening the client's type.
      const name = `wi${Math.abs(hashCode(source))}`;
      options.redis.defineCommand(name, { numberOfKeys: 2, lua: source });
      const command = (options.redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
      return (keys, args) =>
        (command as (...args: unknown[]) => Promise<unknown>).call(options.redis, ...keys, ...args);
    };
    this.scripts = {
      create: define(CREATE_JOB),
      record: define(RECORD_IMAGE),
      cancel: define(CANCEL_JOB),
      retain: define(RETAIN_JOB),
      markEnqueued: define(MARK_ENQUEUED),
      discardUnqueued: define(DISCARD_UNQUEUED),
    };
  }

  /** The hash key of a job; its stream and images hang off it and share its `{jobId}` hash tag. */
  jobKey(id: string): string {
    return `${this.prefix}:job:{${id}}`;
  }

  private keys(id: string): [string, string] {
    const hash = this.jobKey(id);
    return [hash, `${hash}:events`];
  }

  private imageKey(id: string, index: number): string {
    return `${this.jobKey(id)}:img:${index}`;
  }

  /**
   * Creates the job atomically: 'created', 'existing' (same images) or 'conflict'. Its QUEUED events (one per image)
   * are appended in the same step, so that a subscriber sees the whole batch from sequence 1, and it is marked not
   * enqueued until markEnqueued(); an existing job still so marked `enqueueGraceMs` after its creation answers
   * 'unstarted' (see CREATE_JOB).
   */
  async create(job: StoredJob): Promise<CreateOutcome> {
    const fields: string[] = [
      'id',
      job.id,
      'owner',
      job.owner,
      'fingerprint',
      job.fingerprint,
      'status',
      job.status,
      'createdAt',
      String(job.createdAt.getTime()),
      'finishedAt',
      job.finishedAt ? String(job.finishedAt.getTime()) : '',
      ...statsFields(job.stats),
      'seq',
      '0',
      'flight',
      '[]',
      'enq',
      '0',
    ];
    const images: Array<[number, EncodedImage]> = [];
    job.results.forEach((result, index) => {
      fields.push(`r:${index}`, JSON.stringify(this.toStored(result, index, images)), `i:${result.id}`, String(index));
    });
    const answer = (await this.scripts.create(this.keys(job.id), [
      job.fingerprint,
      this.now(),
      this.runningTtl,
      // The script can leave the QUEUED events out; every job here has them.
      '1',
      this.options.enqueueGraceMs ?? Number.MAX_SAFE_INTEGER,
      ...fields,
    ])) as CreateOutcome;
    if (answer === 'created') await this.saveImages(job.id, images, this.runningTtl);
    return answer;
  }

  /** The images of a newly created job are in the work queue now. */
  async markEnqueued(id: string): Promise<void> {
    await this.scripts.markEnqueued(this.keys(id), []);
  }

  /** Forgets a job whose images could not be enqueued (see DISCARD_UNQUEUED); true when it was removed. */
  async discardUnqueued(id: string): Promise<boolean> {
    return Number(await this.scripts.discardUnqueued(this.keys(id), [])) === 1;
  }

  /** Whether the job is there and cancelled, and how far the images at `indexes` (one task's) have come. */
  async taskState(id: string, indexes: readonly number[]): Promise<TaskState> {
    const [exists, cancel, ...raw] = await this.options.redis.hmget(
      this.jobKey(id),
      'id',
      'cancel',
      ...indexes.map((index) => `r:${index}`),
    );
    const results = raw.map((value) => (value ? (JSON.parse(value) as StoredResult) : null));
    return {
      exists: exists !== null,
      cancelled: cancel === '1',
      settled: results.every((result) => result === null || TERMINAL_STATUSES.has(result.status)),
      attempts: Math.max(0, ...results.map((result) => result?.attempts ?? 0)),
    };
  }

  async get(id: string, options: GetOptions = {}): Promise<StoredJob | undefined> {
    const hash = await this.options.redis.hgetall(this.jobKey(id));
    if (!hash.id) return undefined;
    const total = Number(hash.total);
    const stored: StoredResult[] = [];
    for (let index = 0; index < total; index++) stored.push(JSON.parse(hash[`r:${index}`] ?? 'null') as StoredResult);
    const results =
      options.pictures === false
        ? stored.map((result) => ({
            ...result,
            image: result.image ? { mimeType: result.image.mimeType, bytes: UNREAD_BYTES } : null,
          }))
        : await this.withImages(id, stored);
    return {
      id: hash.id,
      owner: hash.owner ?? '',
      fingerprint: hash.fingerprint ?? '',
      status: hash.status as StoredJob['status'],
      results,
      stats: statsOf({
        total,
        successful: Number(hash.successful),
        failed: Number(hash.failed),
        cancelled: Number(hash.cancelled),
        retries: Number(hash.retries),
        durationMs: hash.finishedAt ? Number(hash.durationMs) : Math.max(0, this.now() - Number(hash.createdAt)),
      }),
      createdAt: new Date(Number(hash.createdAt)),
      finishedAt: hash.finishedAt ? new Date(Number(hash.finishedAt)) : null,
    };
  }

  /** One picture, read alone: its result's reference, then its key. */
  async image(id: string, requestId: string): Promise<EncodedImage | undefined> {
    const key = this.jobKey(id);
    const index = await this.options.redis.hget(key, `i:${requestId}`);
    if (index === null) return undefined;
    const raw = await this.options.redis.hget(key, `r:${index}`);
    const result = raw ? (JSON.parse(raw) as StoredResult) : undefined;
    if (!result?.image) return undefined;
    const bytes = await this.options.redis.getBuffer(this.imageKey(id, result.image.ref));
    return bytes ? { mimeType: result.image.mimeType, bytes } : undefined;
  }

  /**
   * Applies one state change to the images at `indexes` (identical requests share a result) and appends one event
   * per image changed; the last image to become final also finishes the job, exactly once, whoever records it.
   */
  async recordImage(id: string, indexes: readonly number[], patch: ImagePatch, details: ImageDetails): Promise<number> {
    const { image, ...rest } = patch;
    const storedPatch: Record<string, unknown> = { ...rest };
    if (image !== undefined) {
      const first = indexes[0] ?? 0;
      if (image) await this.saveImages(id, [[first, image]], this.runningTtl);
      storedPatch.image = image ? { mimeType: image.mimeType, size: image.bytes.length, ref: first } : null;
    }
    const [appended, finishedBytes, status] = (await this.scripts.record(this.keys(id), [
      JSON.stringify(indexes),
      JSON.stringify(storedPatch),
      this.now(),
      this.options.retentionMs,
      details.retries ?? 0,
      details.prompt,
    ])) as [number, number, string];
    if (finishedBytes >= 0) this.options.observer?.jobFinished?.(status === 'CANCELLED' ? 'CANCELLED' : 'COMPLETED');
    await this.retain(id, finishedBytes);
    return appended;
  }

  /** Marks the job cancelled and settles its images that have not started; false when the job is unknown. */
  async cancel(id: string): Promise<boolean> {
    const patch = { status: 'CANCELLED', error: CANCELLED_ERROR };
    const answer = Number(
      await this.scripts.cancel(this.keys(id), [this.now(), this.options.retentionMs, JSON.stringify(patch)]),
    );
    // Finished by this very call: every image had not started, and the job ends CANCELLED.
    if (answer >= 0) this.options.observer?.jobFinished?.('CANCELLED');
    await this.retain(id, answer);
    return answer !== -2;
  }

  /** A job has just finished with `bytes` of pictures (negative: it has not): older finished jobs make room. */
  private async retain(id: string, bytes: number): Promise<void> {
    if (bytes < 0) return;
    await this.scripts.retain(
      [`${this.prefix}:retained`, `${this.prefix}:retained:bytes`],
      [
        id,
        bytes,
        this.now(),
        this.options.retentionMs,
        this.options.maxRetained ?? Number.MAX_SAFE_INTEGER,
        this.options.maxRetainedBytes ?? Number.MAX_SAFE_INTEGER,
        `${this.prefix}:job:`,
      ],
    );
  }

  async isCancelled(id: string): Promise<boolean> {
    return (await this.options.redis.hget(this.jobKey(id), 'cancel')) === '1';
  }

  /** The cancel flags of several jobs, in one round trip. */
  async cancelledAmong(ids: readonly string[]): Promise<boolean[]> {
    const batch = this.options.redis.pipeline();
    for (const id of ids) batch.hget(this.jobKey(id), 'cancel');
    const answers = (await batch.exec()) ?? [];
    return ids.map((_id, index) => answers[index]?.[1] === '1');
  }

  async *follow(id: string, options: FollowOptions): AsyncGenerator<GenerationEvent> {
    const [hash, stream] = this.keys(id);
    const after = Math.max(0, options.after ?? 0);
    let last = after;
    // Replay: everything already in the stream, a page at a time, strictly after the last sequence seen.
    for (;;) {
      const page = await this.options.redis.xrange(stream, `(0-${last}`, '+', 'COUNT', 200);
      for (const [, fields] of page) {
        const event = await this.toEvent(id, fields);
        last = event.sequence;
        yield event;
        // An aborted follower stops at once, even with events of the page still to read.
        if (event.done || options.signal.aborted) return;
      }
      if (page.length < 200) break;
    }
    if (last === after && after > 0) {
      // Nothing after `after` in a finished job: a reader resuming after its final event gets nothing more.
      const [newest] = await this.options.redis.xrevrange(stream, '+', '-', 'COUNT', 1);
      if (newest && (JSON.parse(newest[1][1] ?? '{}') as StreamEvent).done) return;
    }
    if (last === after && !(await this.options.redis.exists(hash))) {
      // Not known yet: wait for its first event, up to waitMs.
      const first = await this.options.streams.next(stream, last, options.signal, options.waitMs);
      if (!first) return;
      for (const fields of first) {
        const event = await this.toEvent(id, fields);
        last = event.sequence;
        yield event;
        // An aborted follower stops at once, even with events of the page still to read.
        if (event.done || options.signal.aborted) return;
      }
    }
    while (!options.signal.aborted) {
      const entries = await this.options.streams.next(stream, last, options.signal);
      // Nothing without a timeout: the follower was aborted or the replica is closing.
      if (!entries) return;
      for (const fields of entries) {
        const event = await this.toEvent(id, fields);
        last = event.sequence;
        yield event;
        // An aborted follower stops at once, even with events of the page still to read.
        if (event.done || options.signal.aborted) return;
      }
    }
  }

  async finished(id: string, options: GetOptions = {}): Promise<StoredJob | undefined> {
    const job = await this.get(id, options);
    if (!job || job.finishedAt !== null) return job;
    // Whichever replicas run its images, the final event lands in its stream: follow it there.
    for await (const event of this.follow(id, { waitMs: 0, signal: new AbortController().signal })) {
      if (event.done) break;
    }
    return (await this.get(id, options)) ?? job;
  }

  async close(): Promise<void> {}

  private get runningTtl(): number {
    return this.options.runningTtlMs ?? this.options.retentionMs + DAY_MS;
  }

  private async toEvent(jobId: string, fields: string[]): Promise<GenerationEvent> {
    const stored = JSON.parse(fields[1] ?? '{}') as StreamEvent;
    const [image] = stored.image ? await this.withImages(jobId, [stored.image]) : [null];
    return {
      jobId,
      sequence: stored.sequence,
      image: image ?? null,
      progress: stored.done ? finalProgressOf(stored.tally) : progressOf(stored.tally, stored.current),
      stats: statsOf(stored.tally),
      done: stored.done,
    };
  }

  /** Replaces picture references by their bytes; a picture whose key is gone reads as none. */
  private async withImages(jobId: string, stored: StoredResult[]): Promise<ImageResult[]> {
    const refs = stored.flatMap((result) => (result.image ? [result.image.ref] : []));
    const unique = [...new Set(refs)];
    const buffers = unique.length
      ? await this.options.redis.mgetBuffer(...unique.map((ref) => this.imageKey(jobId, ref)))
      : [];
    const byRef = new Map(unique.map((ref, index) => [ref, buffers[index] ?? null]));
    // One Buffer per picture, so that identical requests share it as they do in memory.
    const decoded = new Map<number, EncodedImage | null>();
    return stored.map((result) => {
      if (!result.image) return { ...result, image: null };
      const ref = result.image.ref;
      if (!decoded.has(ref)) {
        const bytes = byRef.get(ref);
        decoded.set(ref, bytes ? { mimeType: result.image.mimeType, bytes } : null);
      }
      return { ...result, image: decoded.get(ref) ?? null };
    });
  }

  /** The result as stored: its picture becomes a reference to an image key (the first holder of those bytes). */
  private toStored(result: ImageResult, index: number, images: Array<[number, EncodedImage]>): StoredResult {
    if (!result.image) return { ...result, image: null };
    const shared = images.find(([, image]) => image.bytes === result.image?.bytes);
    const ref = shared ? shared[0] : index;
    if (!shared) images.push([index, result.image]);
    return { ...result, image: { mimeType: result.image.mimeType, size: result.image.bytes.length, ref } };
  }

  private async saveImages(id: string, images: Array<[number, EncodedImage]>, ttlMs: number): Promise<void> {
    if (images.length === 0) return;
    const batch = this.options.redis.multi();
    for (const [index, image] of images) batch.set(this.imageKey(id, index), image.bytes, 'PX', ttlMs);
    await batch.exec();
  }
}

/** The counts the hash keeps; the rest of the stats is derived on read. */
function statsFields(stats: StoredJob['stats']): string[] {
  return [
    'total',
    String(stats.total),
    'successful',
    String(stats.successful),
    'failed',
    String(stats.failed),
    'cancelled',
    String(stats.cancelled),
    'retries',
    String(stats.retries),
    'durationMs',
    String(stats.durationMs),
  ];
}

function hashCode(text: string): number {
  let hash = 0;
  for (let index = 0; index < text.length; index++) hash = (hash * 31 + text.charCodeAt(index)) | 0;
  return hash;
}
