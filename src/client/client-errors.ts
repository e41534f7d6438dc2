import type { ImageErrorCode, ImageResultFieldsFragment, ImageStatus } from './generated/graphql.js';

/** One entry of a GraphQL response's `errors`, as the server sent it. */
export interface GraphQLErrorPayload {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: Record<string, unknown>;
}

/**
 * The server answered with GraphQL errors: bad input (`code` BAD_USER_INPUT), an unknown job (NOT_FOUND), a server
 * shutting down (SERVICE_UNAVAILABLE). The message is the first error's; every error is kept in `errors`.
 */
export class GraphQLRequestError extends Error {
  /** `extensions.code` of the first error, e.g. "BAD_USER_INPUT". */
  readonly code: string | undefined;
  /** `extensions` of the first error; BAD_USER_INPUT carries `issues` naming each field and its limit. */
  readonly extensions: Record<string, unknown>;
  readonly errors: readonly GraphQLErrorPayload[];

  constructor(errors: readonly GraphQLErrorPayload[]) {
    const first = errors[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    super(`${first?.message ?? 'The server answered with an empty error list'}${more}`);
    this.name = 'GraphQLRequestError';
    this.extensions = first?.extensions ?? {};
    this.code = typeof this.extensions.code === 'string' ? this.extensions.code : undefined;
    this.errors = errors;
  }
}

/** The server could not be reached, or answered something that is not a GraphQL response. */
export class GraphQLTransportError extends Error {
  /** The HTTP status, when there was a response. */
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GraphQLTransportError';
    this.status = options.status;
  }
}

/** An image the server could not make. A failed image is data on the server; this client throws it for one image. */
export class ImageGenerationError extends Error {
  readonly code: ImageErrorCode;
  readonly retryable: boolean;
  readonly status: ImageStatus;
  /** The whole result, attempts and sizes included. */
  readonly result: ImageResultFieldsFragment;

  constructor(result: ImageResultFieldsFragment) {
    super(result.error?.message ?? `The image ended ${result.status} without a picture`);
    this.name = 'ImageGenerationError';
    this.code = result.error?.code ?? 'INTERNAL';
    this.retryable = result.error?.retryable ?? false;
    this.status = result.status;
    this.result = result;
  }
}

export function isGraphQLErrorList(value: unknown): value is GraphQLErrorPayload[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((entry) => typeof entry === 'object' && entry !== null && typeof entry.message === 'string')
  );
}
