import { emptyTally, type JobTally, progressOf, statsOf } from './job-tally.js';
import { isFinalImageStatus, STATS_COUNTER_OF, TERMINAL_STATUSES } from './states.js';
import type { Dimensions, GenerationStats, ImageResult, Progress, ProgressEvent } from './types.js';

export interface TrackedImage {
  id: string;
  prompt: string;
  requestedDimensions: Dimensions;
  dimensions: Dimensions;
  deduplicated: boolean;
}

export type ImagePatch = Partial<Pick<ImageResult, 'status' | 'image' | 'attempts' | 'error' | 'retryInMs'>>;

/** An image's result before anything has happened to it. */
export function queuedResult(image: Omit<TrackedImage, 'prompt'>): ImageResult {
  return {
    id: image.id,
    status: 'QUEUED',
    image: null,
    dimensions: image.dimensions,
    requestedDimensions: image.requestedDimensions,
    attempts: 0,
    error: null,
    retryInMs: null,
    deduplicated: image.deduplicated,
  };
}

/**
 * An image's result after one change, as every job store records it too (the Redis store's Lua follows the same
 * rules); undefined when the image is unknown or already final, which no change may touch.
 */
export function patchedResult(previous: ImageResult | undefined, patch: ImagePatch): ImageResult | undefined {
  if (!previous || TERMINAL_STATUSES.has(previous.status)) return undefined;
  const next: ImageResult = { ...previous, ...patch };
  if (next.status !== 'RETRYING') next.retryInMs = null;
  if (next.status === 'SUCCEEDED') next.error = null;
  return next;
}

/**
 * The state of every image of one batch, in request order, and the stats and progress derived from it (by
 * job-tally.ts, as the Redis store derives them). Every change replaces the image's result object, so an emitted
 * event is a snapshot that later changes do not touch.
 */
export class BatchTracker {
  private readonly results: ImageResult[];
  private readonly prompts: string[];
  private readonly startedAt: number;
  private finishedAt: number | undefined;
  /** Counted at each transition, so that an event costs no pass over the batch; durationMs is set when read. */
  private readonly tally: JobTally;
  /** Prompts in flight, most recent last: `current` names the newest. */
  private readonly inFlight = new Map<number, string>();

  constructor(
    images: readonly TrackedImage[],
    private readonly onProgress: ((event: ProgressEvent) => void) | undefined,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.startedAt = this.now();
    this.prompts = images.map((image) => image.prompt);
    this.results = images.map(queuedResult);
    this.tally = emptyTally(images.length);
  }

  /** Announces every image in its first state, so a progress view can draw all placeholders at once. */
  announceQueued(): void {
    this.results.forEach((result) => this.emit(result));
  }

  update(index: number, patch: ImagePatch): void {
    const next = patchedResult(this.results[index], patch);
    if (!next) return;
    this.results[index] = next;
    // The image was not final before, so each image is counted once.
    if (isFinalImageStatus(next.status)) this.tally[STATS_COUNTER_OF[next.status]] += 1;
    if (next.status === 'GENERATING') {
      this.inFlight.delete(index);
      this.inFlight.set(index, this.prompts[index] ?? '');
    } else {
      this.inFlight.delete(index);
    }
    this.emit(next);
  }

  countRetry(): void {
    this.tally.retries += 1;
  }

  isTerminal(index: number): boolean {
    const result = this.results[index];
    return result !== undefined && TERMINAL_STATUSES.has(result.status);
  }

  finish(): void {
    this.finishedAt ??= this.now();
  }

  snapshot(): ImageResult[] {
    return [...this.results];
  }

  stats(): GenerationStats {
    this.tally.durationMs = Math.round((this.finishedAt ?? this.now()) - this.startedAt);
    return statsOf(this.tally);
  }

  progress(): Progress {
    return progressOf(this.tally, this.current());
  }

  /** The newest prompt in flight: the map keeps insertion order, and update() re-inserts an image that starts. */
  private current(): string | null {
    let newest: string | null = null;
    for (const prompt of this.inFlight.values()) newest = prompt;
    return newest;
  }

  private emit(image: ImageResult): void {
    if (!this.onProgress) return;
    const stats = this.stats();
    this.onProgress({ image, progress: progressOf(this.tally, this.current()), stats });
  }
}
