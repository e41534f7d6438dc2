import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describe } from 'vitest';

/**
 * The Redis the suite may use: REDIS_URL with this project's database number for the caller (issue-11 owns 11 to 13),
 * or undefined when REDIS_URL is unset, in which case Redis tests are skipped with one line saying so.
 */
export function testRedisUrl(database: 11 | 12 | 13): string | undefined {
  const base = process.env.REDIS_URL;
  if (!base) return undefined;
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** `describe` when REDIS_URL is set; otherwise one skipped block whose name says why. */
export function describeWithRedis(name: string, options: { timeout?: number }, body: () => void): void;
export function describeWithRedis(name: string, body: () => void): void;
export function describeWithRedis(
  name: string,
  optionsOrBody: { timeout?: number } | (() => void),
  maybeBody?: () => void,
): void {
  const [options, body] =
    typeof optionsOrBody === 'function' ? [{}, optionsOrBody] : [optionsOrBody, maybeBody as () => void];
  if (process.env.REDIS_URL) describe(name, options, body);
  else describe.skip(`${name} (skipped: REDIS_URL is not set)`, options, body);
}

/** A key prefix no other test run shares. */
export function uniquePrefix(label: string): string {
  return `test:${label}:${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under the prefix (SCAN, so a shared Redis is never blocked). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}
