/** The CLI's exit codes; `--help` documents them. */
export const ExitCode = {
  /** Every placeholder got its image. */
  success: 0,
  /** Nothing useful was done: the input, the server or the output directory stood in the way. */
  failure: 1,
  /** The command line itself was wrong. */
  usage: 2,
  /** The job ran to its end, but some images failed; the rest were written. */
  someImagesFailed: 3,
  /** Nothing to do: the worksheet has no placeholder left to fill; nothing was generated or written. */
  nothingToDo: 4,
  /** Ctrl-C (SIGINT): the job was cancelled and what was done by then was written. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake on the command line: an unknown option, a missing argument. Exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the user can act on, already worded as one line: a missing file, a refused token. Exits 1. */
export class CliFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliFailure';
  }
}
