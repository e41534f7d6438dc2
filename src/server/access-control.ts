import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LOCAL_TENANT } from '../jobs/types.js';

export { LOCAL_TENANT };

/**
 * Who is asking. `owner` is whom quotas and connection budgets count: the token's tenant, or the client address when
 * no tokens are configured. `tenant` is whose jobs it may see: one per token, or one for everybody without tokens.
 * Neither is ever the token itself.
 */
export interface Caller {
  owner: string;
  tenant: string;
}

export type AccessDecision = Caller | { status: 401; message: string };

export interface AccessControl {
  /** Whether bearer tokens are required at all. */
  readonly enabled: boolean;
  /** Checks an HTTP request's `Authorization: Bearer <token>` header. */
  authorize(request: IncomingMessage): AccessDecision;
  /**
   * Checks a credential that arrived some other way (graphql-ws connectionParams.authorization), falling back to the
   * request's Authorization header when the credential is absent.
   */
  authorizeCredential(credential: unknown, request: IncomingMessage): AccessDecision;
}

interface KnownToken {
  digest: Buffer;
  tenant: string;
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * Bearer-token access. Tokens are compared as SHA-256 digests with timingSafeEqual, against every configured token,
 * so neither a token's length nor how much of it matched shows in the time taken. With no tokens configured, every
 * caller is let in and named by its address.
 */
export function createAccessControl(apiTokens: readonly string[]): AccessControl {
  const known: KnownToken[] = apiTokens.map((token) => ({ digest: sha256(token), tenant: tokenTenant(token) }));

  const decide = (credential: unknown, request: IncomingMessage): AccessDecision => {
    if (known.length === 0) return { owner: addressOwner(request), tenant: LOCAL_TENANT };
    if (credential === undefined || credential === null || credential === '') {
      return { status: 401, message: 'Missing access token: send "Authorization: Bearer <token>".' };
    }
    const token = typeof credential === 'string' ? BEARER.exec(credential)?.[1] : undefined;
    if (token === undefined) {
      return { status: 401, message: 'Malformed access token: send "Authorization: Bearer <token>".' };
    }
    const presented = sha256(token);
    let match: KnownToken | undefined;
    for (const candidate of known) {
      if (timingSafeEqual(candidate.digest, presented) && match === undefined) match = candidate;
    }
    return match ? { owner: match.tenant, tenant: match.tenant } : { status: 401, message: 'Invalid access token.' };
  };

  return {
    enabled: known.length > 0,
    authorize: (request) => decide(request.headers.authorization, request),
    authorizeCredential: (credential, request) =>
      decide(credential === undefined || credential === null ? request.headers.authorization : credential, request),
  };
}

/**
 * A token's tenant: a stable name derived from the token by a one-way hash, so it can be logged, used as a key and
 * shown in metrics while the token itself stays secret. 64 bits of the digest keep distinct tokens apart.
 */
export function tokenTenant(token: string): string {
  return `token:${sha256(token).toString('hex').slice(0, 16)}`;
}

/** The owner name of a caller without a token: its address. */
export function addressOwner(request: IncomingMessage): string {
  return `ip:${request.socket.remoteAddress ?? 'unknown'}`;
}

/** Answers 401 with a GraphQL-style error body and a `WWW-Authenticate: Bearer` challenge. */
export function sendUnauthorized(response: ServerResponse, message: string): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] });
  response.writeHead(401, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'www-authenticate': 'Bearer realm="worksheet-images"',
  });
  response.end(body);
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
