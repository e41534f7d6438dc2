import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Who is asking, as quotas and job ownership see it: a token's name, never the token, or the client address. */
export type AccessDecision = { owner: string } | { status: 401; message: string };

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
  name: string;
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * Bearer-token access. Tokens are compared as SHA-256 digests with timingSafeEqual, against every configured token,
 * so neither a token's length nor how much of it matched shows in the time taken. With no tokens configured, every
 * caller is let in and named by its address.
 */
export function createAccessControl(apiTokens: readonly string[]): AccessControl {
  const known: KnownToken[] = apiTokens.map((token) => {
    const digest = sha256(token);
    return { digest, name: `token:${digest.toString('hex').slice(0, 8)}` };
  });

  const decide = (credential: unknown, request: IncomingMessage): AccessDecision => {
    if (known.length === 0) return { owner: addressOwner(request) };
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
    return match ? { owner: match.name } : { status: 401, message: 'Invalid access token.' };
  };

  return {
    enabled: known.length > 0,
    authorize: (request) => decide(request.headers.authorization, request),
    authorizeCredential: (credential, request) =>
      decide(credential === undefined || credential === null ? request.headers.authorization : credential, request),
  };
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
