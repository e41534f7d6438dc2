import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What every log line written on behalf of one request carries. */
export interface RequestContext {
  requestId: string;
}

/**
 * The request being served, carried through its async work (and the job it starts), so the logger can put the
 * request id on every line without each module passing it along.
 */
export const requestContext = new AsyncLocalStorage<RequestContext>();

const ACCEPTED_ID = /^[\w.:-]{1,64}$/;

/** The caller's own X-Request-Id when it is a plain token (a proxy's, say), else a fresh one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const candidate = Array.isArray(header) ? header[0] : header;
  return candidate && ACCEPTED_ID.test(candidate) ? candidate : randomUUID();
}
