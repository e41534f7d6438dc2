import { emptyTally, statsOf } from '../generation/job-tally.js';
import type { FinishedJobStatus } from '../generation/states.js';
import type { GenerationStats, ImageResult, Progress } from '../generation/types.js';
import { toDataUrl } from '../images/image-mime.js';
import type { JobManager } from '../jobs/job-manager.js';
import { applyOutcomes, collectPlaceholders, type Worksheet } from './worksheet.js';

export interface IllustratedWorksheet {
  /** How the job ended: CANCELLED when the signal (or a shutdown) stopped it. */
  status: FinishedJobStatus;
  worksheet: Worksheet;
  results: ImageResult[];
  stats: GenerationStats;
}

/**
 * Fills every picture placeholder of a worksheet as one job and maps the images back onto its pages: progress comes
 * from the job's events, and aborting the signal cancels the job (what was done is still answered).
 * Placeholders that already have an image are kept as they are.
 */
export async function generateImagesForWorksheet(
  worksheet: Worksheet,
  onProgress: ((progress: Progress) => void) | undefined,
  options: { jobs: JobManager; signal?: AbortSignal; jobId?: string },
): Promise<IllustratedWorksheet> {
  const placeholders = collectPlaceholders(worksheet);
  if (placeholders.length === 0) {
    return { status: 'COMPLETED', worksheet, results: [], stats: statsOf(emptyTally(0)) };
  }
  const { jobs, signal } = options;
  const started = await jobs.start({
    images: placeholders.map(({ id, prompt, width, height, seed }) => ({ id, prompt, width, height, seed })),
    ...(options.jobId ? { jobId: options.jobId } : {}),
  });
  const jobId = started.job.id;
  const cancel = () => {
    // The job still ends with its final event, which the loop below waits for.
    jobs.cancel(jobId).catch(() => {});
  };
  signal?.addEventListener('abort', cancel, { once: true });
  if (signal?.aborted) cancel();
  let job: Awaited<typeof started.finished>;
  try {
    if (onProgress) {
      for await (const event of jobs.follow(jobId, { signal: new AbortController().signal })) {
        onProgress(event.progress);
        if (event.done) break;
      }
    }
    job = await started.finished;
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
  const outcomes = job.results.map((result) => ({
    id: result.id,
    src: result.image ? toDataUrl(result.image) : null,
    error: result.error,
  }));
  return {
    status: job.status === 'CANCELLED' ? 'CANCELLED' : 'COMPLETED',
    worksheet: applyOutcomes(worksheet, outcomes),
    results: job.results,
    stats: job.stats,
  };
}
