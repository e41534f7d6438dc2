import type { GenerationService } from '../generation/generation-service.js';
import { toDataUrl } from '../images/image-mime.js';
import type { GenerationStats, ImageResult, Progress } from '../generation/types.js';
import { applyOutcomes, collectPlaceholders, type Worksheet } from './worksheet.js';

export interface IllustratedWorksheet {
  worksheet: Worksheet;
  results: ImageResult[];
  stats: GenerationStats;
}

/**
 * Fills every picture placeholder of a worksheet in one batch and maps the images back onto its pages.
 * Placeholders that already have an image are kept as they are.
 */
export async function generateImagesForWorksheet(
  worksheet: Worksheet,
  onProgress: ((progress: Progress) => void) | undefined,
  options: { service: GenerationService; signal?: AbortSignal; batchId?: string },
): Promise<IllustratedWorksheet> {
  const placeholders = collectPlaceholders(worksheet);
  if (placeholders.length === 0) {
    const stats: GenerationStats = {
      total: 0,
      successful: 0,
      failed: 0,
      cancelled: 0,
      pending: 0,
      retries: 0,
      durationMs: 0,
    };
    return { worksheet, results: [], stats };
  }
  const batch = await options.service.generateBatch(
    placeholders.map(({ id, prompt, width, height, seed }) => ({ id, prompt, width, height, seed })),
    {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.batchId ? { batchId: options.batchId } : {}),
      onProgress: onProgress && ((event) => onProgress(event.progress)),
    },
  );
  const outcomes = batch.results.map((result) => ({
    id: result.id,
    src: result.image ? toDataUrl(result.image) : null,
    error: result.error,
  }));
  return { worksheet: applyOutcomes(worksheet, outcomes), results: batch.results, stats: batch.stats };
}
