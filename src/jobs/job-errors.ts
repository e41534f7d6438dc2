/** The client reused a jobId for a different set of images. */
export class JobConflictError extends Error {
  readonly field = 'input.jobId';
  constructor(readonly jobId: string) {
    super(`jobId "${jobId}" is already used by a job with different images; use a new jobId for a new batch`);
    this.name = 'JobConflictError';
  }
}

export class JobNotFoundError extends Error {
  constructor(readonly jobId: string) {
    super(`No generation job with id "${jobId}" (finished jobs are kept for a limited time)`);
    this.name = 'JobNotFoundError';
  }
}

/** The server is shutting down and takes no new work. */
export class ShuttingDownError extends Error {
  constructor() {
    super('The server is shutting down and takes no new work; try again in a moment');
    this.name = 'ShuttingDownError';
  }
}

/** The caller already has as many subscriptions waiting for jobs that do not exist yet as it may. */
export class TooManyWaitingError extends Error {
  constructor(readonly limit: number) {
    super(
      `Too many subscriptions waiting for jobs that do not exist yet: at most ${limit} per client; start the job or end one of them first`,
    );
    this.name = 'TooManyWaitingError';
  }
}
