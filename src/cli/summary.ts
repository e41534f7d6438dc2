import type { WorksheetPlaceholder } from '../worksheet/worksheet.js';
import type { WorksheetGeneration } from './generators.js';
import type { WrittenOutput } from './write-output.js';

/**
 * What the run came to, for stdout:
 *
 *   succeeded: 2 of 3
 *   failed:    1
 *     1-0 "A red kite": CONTENT_FLAGGED: The prompt was flagged
 *   duration:  1.4 s
 *   written:   out/worksheet.json and 2 images (0-1.png, 0-2.png)
 */
export function formatSummary(options: {
  generation: WorksheetGeneration;
  placeholders: readonly WorksheetPlaceholder[];
  written: WrittenOutput;
  durationMs: number;
}): string {
  const { generation, placeholders, written, durationMs } = options;
  const prompts = new Map(placeholders.map((placeholder) => [placeholder.id, placeholder.prompt]));
  const succeeded = generation.results.filter((result) => result.status === 'SUCCEEDED');
  const failed = generation.results.filter((result) => result.status === 'FAILED');
  const cancelled = generation.results.filter((result) => result.status === 'CANCELLED');
  const reason = (result: (typeof failed)[number]) => {
    const prompt = JSON.stringify(prompts.get(result.id) ?? '');
    const error = result.error
      ? `${result.error.code}: ${result.error.message.replace(/\s+/g, ' ')}`
      : 'no reason given';
    return `  ${result.id} ${prompt}: ${error}`;
  };

  const lines = [`succeeded: ${succeeded.length} of ${generation.results.length}`];
  if (failed.length > 0) lines.push(`failed:    ${failed.length}`, ...failed.map(reason));
  if (cancelled.length > 0) lines.push(`cancelled: ${cancelled.length}`);
  if (generation.retries > 0) lines.push(`retries:   ${generation.retries}`);
  lines.push(`duration:  ${formatDuration(durationMs)}`);
  const images = written.images.length;
  const listed = images > 0 && images <= 10 ? ` (${written.images.join(', ')})` : '';
  lines.push(`written:   ${written.worksheetPath} and ${images} ${images === 1 ? 'image' : 'images'}${listed}`);
  return `${lines.join('\n')}\n`;
}

export function formatDuration(durationMs: number): string {
  if (durationMs < 1000) return `${Math.round(durationMs)} ms`;
  if (durationMs < 60_000) return `${(durationMs / 1000).toFixed(1)} s`;
  const minutes = Math.floor(durationMs / 60_000);
  return `${minutes} min ${Math.round((durationMs % 60_000) / 1000)} s`;
}
