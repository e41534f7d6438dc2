import type { Dimensions, GenerationStats, ImageResult, Progress, ProgressEvent } from './types.js';
import { TERMINAL_STATUSES } from './types.js';

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
 * The state of every image of one batch, in request order, and the stats and progress derived from it.
 * Every change replaces the image's result object, so an emitted event is a snapshot that later changes do not touch.
 */
export class BatchTracker {
  private readonly results: ImageResult[];
  private readonly prompts: string[];
  private readonly startedAt: number;
  private finishedAt: number | undefined;
  private retries = 0;
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
  }

  /** Announces every image in its first state, so a progress view can draw all placeholders at once. */
  announceQueued(): void {
    this.results.forEach((result) => this.emit(result));
  }

  update(index: number, patch: ImagePatch): void {
    const previous = this.results[index];
    if (!previous || TERMINAL_STATUSES.has(previous.status)) return;
    const next: ImageResult = { ...previous, ...patch };
    if (next.status !== 'RETRYING') next.retryInMs = null;
    if (next.status === 'SUCCEEDED') next.error = null;
    this.results[index] = next;
    if (next.status === 'GENERATING') {
      this.inFlight.delete(index);
      this.inFlight.set(index, this.prompts[index] ?? '');
    } else {
      this.inFlight.delete(index);
    }
    this.emit(next);
  }

  countRetry(): void {
    this.retries += 1;
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
    let successful = 0;
    let failed = 0;
    let cancelled = 0;
    for (const result of this.results) {
      if (result.status === 'SUCCEEDED') successful += 1;
      else if (result.status === 'FAILED') failed += 1;
      else if (result.status === 'CANCELLED') cancelled += 1;
    }
    const total = this.results.length;
    return {
      total,
      successful,
      failed,
      cancelled,
      pending: total - successful - failed - cancelled,
      retries: this.retries,
      durationMs: Math.round((this.finishedAt ?? this.now()) - this.startedAt),
    };
  }

  progress(): Progress {
    return this.progressOf(this.stats());
  }

  private progressOf(stats: GenerationStats): Progress {
    let newest: string | null = null;
    for (const prompt of this.inFlight.values()) newest = prompt;
    return {
      completed: stats.successful + stats.failed + stats.cancelled,
      total: stats.total,
      errors: stats.failed,
      current: newest,
    };
  }

  private emit(image: ImageResult): void {
    if (!this.onProgress) return;
    const stats = this.stats();
    this.onProgress({ image, progress: this.progressOf(stats), stats });
  }
}
