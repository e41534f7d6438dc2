import type { Dispatcher } from 'undici';
import { ProviderError } from './provider-error.js';

export type TooLargeReason = 'answer_too_large' | 'image_too_large';

/**
 * Reads an upstream answer's body, at most `maxBytes` of it: a declared Content-Length over the bound is refused
 * before a byte is read, and a body that passes it while streaming (an endless one included) is destroyed at once,
 * so no more than `maxBytes` (plus one chunk) is ever held. The attempt's signal still ends a body that trickles.
 */
export async function readBounded(
  response: Dispatcher.ResponseData,
  maxBytes: number,
  signal: AbortSignal,
  tooLargeError: () => Error,
): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await discard(response);
    throw tooLargeError();
  }
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > maxBytes) {
      // Leaving the loop destroys the body: the connection is dropped rather than read to its end.
      throw tooLargeError();
    }
    chunks.push(chunk);
  }
  signal.throwIfAborted();
  return Buffer.concat(chunks, received);
}

/**
 * Closes a body that will not be read. undici's dump() reads at most a little of it and then closes the
 * connection; destroy() without a listener would surface as an unhandled error.
 */
export async function discard(response: Dispatcher.ResponseData): Promise<void> {
  await response.body.dump({ limit: 16 * 1024 }).catch(() => {});
}

export function tooLarge(reason: TooLargeReason, maxBytes: number): ProviderError {
  return new ProviderError(
    `The image service answered with more than this server accepts for one image (${maxBytes} bytes); the answer was dropped.`,
    { code: 'UPSTREAM_UNAVAILABLE', retryable: false, status: 200, reason },
  );
}
