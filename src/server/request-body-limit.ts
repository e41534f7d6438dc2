import type { IncomingMessage, ServerResponse } from 'node:http';

/** Methods whose body Yoga never reads. */
const WITHOUT_BODY = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Reads a request's body, at most `maxBytes` of it, and hands it to Yoga's Node adapter as `request.body` (which it
 * uses instead of reading the stream). A declared Content-Length over the limit is refused with 413 before a byte is
 * read; a chunked body is counted as it streams and refused as soon as it passes the limit, so an oversized body is
 * never held in memory. Answers whether the request may go on.
 */
export function readBodyWithin(request: IncomingMessage, response: ServerResponse, maxBytes: number): Promise<boolean> {
  if (WITHOUT_BODY.has(request.method ?? 'GET')) return Promise.resolve(true);
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    sendTooLarge(response, maxBytes);
    return Promise.resolve(false);
  }

  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (accepted: boolean) => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      resolve(accepted);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) {
        chunks.length = 0;
        request.pause();
        sendTooLarge(response, maxBytes);
        finish(false);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      (request as IncomingMessage & { body?: Buffer }).body = Buffer.concat(chunks, received);
      finish(true);
    };
    const onError = () => {
      request.destroy();
      finish(false);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  });
}

function sendTooLarge(response: ServerResponse, maxBytes: number): void {
  const body = JSON.stringify({
    errors: [
      {
        message: `Request body too large: at most ${maxBytes} bytes are accepted.`,
        extensions: { code: 'PAYLOAD_TOO_LARGE' },
      },
    ],
  });
  // The rest of the body is not read: the connection closes once the answer is out.
  response.writeHead(413, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  response.end(body);
}
