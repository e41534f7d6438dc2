import type { ProgressSnapshot } from './generators.js';

export interface ProgressOutput {
  write(text: string): unknown;
  /** True when the stream is a terminal: the bar is redrawn in place. */
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressReporter {
  update(progress: ProgressSnapshot): void;
  /** Leaves the last state on screen and moves to a fresh line. */
  finish(): void;
  /** Removes the bar, so an error line can take its place. */
  clear(): void;
}

const BAR_WIDTH = 20;

/** `[#####-----] 5/10  2 errors  current: "A red kite"` */
export function formatProgress(progress: ProgressSnapshot, barWidth = BAR_WIDTH): string {
  const share = progress.total === 0 ? 1 : progress.completed / progress.total;
  const filled = Math.min(barWidth, Math.round(share * barWidth));
  return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${describeProgress(progress)}`;
}

/** `5/10  2 errors  current: "A red kite"`, the bar's text without the bar. */
export function describeProgress({ completed, total, errors, current }: ProgressSnapshot): string {
  const parts = [`${completed}/${total}`];
  if (errors > 0) parts.push(`${errors} ${errors === 1 ? 'error' : 'errors'}`);
  if (current && completed < total) parts.push(`current: ${JSON.stringify(singleLine(current))}`);
  return parts.join('  ');
}

/**
 * A live bar redrawn in place on a terminal; elsewhere (a pipe, a CI log) one plain line each time the count of
 * finished images or errors changes, so a log is not flooded with every state change.
 */
export function createProgressReporter(output: ProgressOutput): ProgressReporter {
  return output.isTTY ? terminalReporter(output) : lineReporter(output);
}

function terminalReporter(output: ProgressOutput): ProgressReporter {
  let shown = false;
  return {
    update(progress) {
      const width = Math.max(20, (output.columns || 80) - 1);
      output.write(`\r${truncate(formatProgress(progress), width)}\x1b[K`);
      shown = true;
    },
    finish() {
      if (shown) output.write('\n');
      shown = false;
    },
    clear() {
      if (shown) output.write('\r\x1b[K');
      shown = false;
    },
  };
}

function lineReporter(output: ProgressOutput): ProgressReporter {
  let last = '';
  return {
    update(progress) {
      const key = `${progress.completed}/${progress.total}/${progress.errors}`;
      if (key === last) return;
      last = key;
      output.write(`progress ${describeProgress(progress)}\n`);
    },
    finish() {},
    clear() {},
  };
}

function truncate(text: string, width: number): string {
  const characters = [...text];
  return characters.length <= width ? text : `${characters.slice(0, width - 1).join('')}…`;
}

function singleLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 59)}…` : flat;
}
