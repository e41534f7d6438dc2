import type { ZodError } from 'zod';

export interface InputIssue {
  /** Where the bad value is, e.g. "images[3].width". */
  field: string;
  /** What was wrong and what is allowed. */
  message: string;
}

/** Bad input from the caller: nothing was generated. The GraphQL layer answers it as BAD_USER_INPUT. */
export class InvalidInputError extends Error {
  readonly issues: InputIssue[];

  constructor(issues: InputIssue[]) {
    super(issues.map((issue) => `${issue.field}: ${issue.message}`).join('; '));
    this.name = 'InvalidInputError';
    this.issues = issues;
  }

  static fromZod(error: ZodError, root: string): InvalidInputError {
    return new InvalidInputError(
      error.issues.map((issue) => ({ field: formatPath(root, issue.path), message: issue.message })),
    );
  }
}

export function formatPath(root: string, path: readonly PropertyKey[]): string {
  let field = root;
  for (const segment of path) {
    field += typeof segment === 'number' ? `[${segment}]` : `${field ? '.' : ''}${String(segment)}`;
  }
  return field;
}
