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
