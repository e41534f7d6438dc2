import { GraphQLError } from 'graphql';
import { InvalidInputError } from '../generation/input-error.js';
import { JobConflictError, JobNotFoundError, ShuttingDownError, TooManyWaitingError } from '../jobs/job-errors.js';
import { isConnectionError, StoreUnavailableError } from '../jobs/redis-connection.js';

/**
 * Turns the generation side's typed errors into GraphQL errors with a code. Anything else is rethrown as it is,
 * and Yoga masks it as "Unexpected error." so no internal detail reaches a client.
 */
export function toGraphQLError(error: unknown): unknown {
  if (error instanceof GraphQLError) return error;
  if (error instanceof InvalidInputError) {
    return new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT', issues: error.issues } });
  }
  if (error instanceof JobConflictError) {
    return new GraphQLError(error.message, {
      extensions: { code: 'BAD_USER_INPUT', issues: [{ field: error.field, message: error.message }] },
    });
  }
  if (error instanceof JobNotFoundError) return new GraphQLError(error.message, { extensions: { code: 'NOT_FOUND' } });
  if (error instanceof TooManyWaitingError) {
    return new GraphQLError(error.message, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: error.limit } });
  }
  if (error instanceof ShuttingDownError) {
    return new GraphQLError(error.message, { extensions: { code: 'SERVICE_UNAVAILABLE' } });
  }
  if (error instanceof StoreUnavailableError || isConnectionError(error)) {
    return new GraphQLError(new StoreUnavailableError().message, { extensions: { code: 'SERVICE_UNAVAILABLE' } });
  }
  return error;
}

/** Runs a resolver body, answering known failures as coded GraphQL errors. */
export async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toGraphQLError(error);
  }
}
