import { Agent, errors as undiciErrors, request } from 'undici';
import type { Dispatcher } from 'undici';
import { DEFAULT_TOGETHER_IMAGE_HOSTS, defaultMaxImageBytes } from '../config.js';
import { checkImageContainer } from '../images/image-container.js';
import type { EncodedImage, ImageErrorCode } from '../images/types.js';
import type { Logger } from '../logger.js';
import { discard, readBounded, tooLarge } from './bounded-body.js';
import { createImageHostCheck } from './image-hosts.js';
import { ProviderError } from './provider-error.js';
import { parseRateLimitHeaders, parseRetryAfter, type RateLimitHeaders } from './rate-limit-headers.js';
import { createKeyScrubber } from './scrub-key.js';
import type { ImageProvider, ProviderRequest } from './types.js';

export interface TogetherProviderOptions {
  apiKey: string;
  /** The API root, e.g. https://api.together.ai/v1; a gateway, a proxy or a test fake. */
  baseUrl: string;
  model: string;
  steps: number;
  /** Sockets kept open to the upstream; the generation service's concurrency is a good value. */
  connections: number;
  /** Where `data[].url` may point (see Config.together.imageHosts). Default: Together's own hosts, https only. */
  imageHosts?: readonly string[];
  /** Largest image accepted, in bytes; bounds every answer read. Default: derived from the default largest side. */
  maxImageBytes?: number;
  /** Where the upstream's own words go (scrubbed of the key): they never reach a client. */
  logger?: Logger;
}

interface TogetherImageResponse {
  data?: Array<{ b64_json?: string | null; url?: string | null }>;
}

interface TogetherErrorBody {
  error?: { message?: unknown; type?: unknown } | string;
  message?: unknown;
}

const UPSTREAM_MESSAGE_MAX = 300;
/** An error answer is a short JSON object; more than this is not read. */
const ERROR_BODY_MAX = 64 * 1024;
/** Room in a JSON answer beyond the image's base64: the envelope, timings, a seed. */
const JSON_ENVELOPE_MAX = 64 * 1024;

/** Together AI's `POST /images/generations`, one attempt per call, over a keep-alive connection pool. */
export function createTogetherProvider(options: TogetherProviderOptions): ImageProvider {
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/images/generations`;
  const dispatcher = new Agent({
    connections: options.connections,
    keepAliveTimeout: 30_000,
    // The generation service owns the per-attempt timeout and aborts through the signal.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const scrub = createKeyScrubber(options.apiKey);
  const maxImageBytes = options.maxImageBytes ?? defaultMaxImageBytes(1792);
  // base64 is 4/3 of the bytes; the JSON around it is small.
  const maxAnswerBytes = Math.ceil(maxImageBytes / 3) * 4 + JSON_ENVELOPE_MAX;
  const imageHostAllowed = createImageHostCheck(options.imageHosts ?? DEFAULT_TOGETHER_IMAGE_HOSTS);
  const dropped = (reason: 'answer_too_large' | 'image_too_large') => {
    options.logger?.warn(
      { reason, maxImageBytes },
      'the image service answered with more than one image may be; dropped',
    );
    return tooLarge(reason, maxImageBytes);
  };
  const logUpstream = (status: number, text: string) => {
    const upstreamMessage = scrub(readErrorMessage(text)).slice(0, UPSTREAM_MESSAGE_MAX);
    options.logger?.warn({ status, upstreamMessage }, 'the image service answered with an error');
  };

  async function generate(
    input: ProviderRequest,
    signal: AbortSignal,
    onRateLimit?: (rateLimit: RateLimitHeaders) => void,
  ): Promise<EncodedImage> {
    const body: Record<string, unknown> = {
      model: options.model,
      prompt: input.prompt,
      width: input.width,
      height: input.height,
      steps: options.steps,
      n: 1,
      response_format: 'base64',
    };
    if (input.seed !== undefined && input.seed !== null) body.seed = input.seed;

    let response: Dispatcher.ResponseData;
    try {
      response = await request(endpoint, {
        method: 'POST',
        dispatcher,
        signal,
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw connectionError(error, signal);
    }

    if (response.statusCode !== 200) {
      const text = await readBounded(response, ERROR_BODY_MAX, signal, () => new Error('error body too large'))
        .then((bytes) => bytes.toString('utf8'))
        .catch(() => '');
      logUpstream(response.statusCode, text);
      throw statusError(response.statusCode, response.headers);
    }
    let text: string;
    try {
      text = (await readBounded(response, maxAnswerBytes, signal, () => dropped('answer_too_large'))).toString('utf8');
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      throw connectionError(error, signal);
    }

    const rateLimit = parseRateLimitHeaders(response.headers);
    if (rateLimit) onRateLimit?.(rateLimit);
    const contentType = String(response.headers['content-type'] ?? '');
    if (!contentType.includes('json')) {
      throw new ProviderError(`The image service answered with ${contentType || 'no content type'} instead of JSON.`, {
        code: 'UPSTREAM_UNAVAILABLE',
        retryable: true,
        status: 200,
        reason: 'wrong_content_type',
      });
    }
    let parsed: TogetherImageResponse;
    try {
      parsed = JSON.parse(text) as TogetherImageResponse;
    } catch {
      throw new ProviderError('The image service answered with malformed JSON.', {
        code: 'UPSTREAM_UNAVAILABLE',
        retryable: true,
        status: 200,
        reason: 'malformed_json',
      });
    }
    const item = parsed.data?.[0];
    let bytes: Buffer;
    if (typeof item?.b64_json === 'string' && item.b64_json.length > 0) {
      bytes = Buffer.from(item.b64_json, 'base64');
      if (bytes.length > maxImageBytes) throw dropped('answer_too_large');
    } else if (typeof item?.url === 'string' && item.url.length > 0) {
      bytes = await download(item.url, signal);
    } else {
      throw new ProviderError('The image service answered without an image.', {
        code: 'UPSTREAM_UNAVAILABLE',
        retryable: true,
        status: 200,
        reason: 'no_image',
      });
    }
    const container = checkImageContainer(bytes);
    if (!container) {
      throw new ProviderError(
        'The image service answered with bytes that are not a whole JPEG, PNG, WebP or GIF image.',
        {
          code: 'UPSTREAM_UNAVAILABLE',
          retryable: true,
          status: 200,
          reason: 'not_an_image',
        },
      );
    }
    return { mimeType: container.mimeType, bytes };
  }

  /**
   * Fetches a `data[].url` answer: only from an allowed host, without following redirects, under the same size bound
   * and the attempt's own timeout (the signal).
   */
  async function download(url: string, signal: AbortSignal): Promise<Buffer> {
    if (!imageHostAllowed(url)) {
      let host = 'an unparsable URL';
      try {
        host = new URL(url).origin;
      } catch {
        // Logged as unparsable.
      }
      options.logger?.warn({ host }, 'the image service named an image URL on a host that is not allowed');
      throw new ProviderError('The image service answered with an image link on a host this server does not trust.', {
        code: 'UPSTREAM_UNAVAILABLE',
        retryable: false,
        status: 200,
        reason: 'url_not_allowed',
      });
    }
    try {
      // The URL is the upstream's own signed link: the key is not sent with it. undici's request never follows
      // redirects, so a 3xx is a failed download like any other status.
      const response = await request(url, { method: 'GET', dispatcher, signal });
      if (response.statusCode !== 200) {
        await discard(response);
        throw new ProviderError(`Downloading the generated image failed with HTTP ${response.statusCode}.`, {
          code: 'UPSTREAM_UNAVAILABLE',
          retryable: response.statusCode >= 500,
          status: response.statusCode,
          reason:
            response.statusCode >= 300 && response.statusCode < 400
              ? 'download_redirect'
              : `download_http_${response.statusCode}`,
        });
      }
      return await readBounded(response, maxImageBytes, signal, () => dropped('image_too_large'));
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      throw connectionError(error, signal);
    }
  }

  return {
    name: 'together',
    placeholder: false,
    generate,
    close: () => dispatcher.close(),
  };
}

function connectionError(error: unknown, signal: AbortSignal): unknown {
  // An abort is the service's decision (timeout or cancellation); it classifies that itself.
  if (signal.aborted) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const reason =
    code === 'ECONNREFUSED'
      ? 'connection_refused'
      : code === 'UND_ERR_CONNECT_TIMEOUT'
        ? 'connect_timeout'
        : error instanceof undiciErrors.SocketError || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
          ? 'connection_reset'
          : 'connection_error';
  const message =
    reason === 'connection_refused'
      ? 'Could not connect to the image service.'
      : reason === 'connection_reset'
        ? 'The connection to the image service was reset before the answer was complete.'
        : 'The connection to the image service failed.';
  return new ProviderError(message, { code: 'UPSTREAM_UNAVAILABLE', retryable: true, reason });
}

/**
 * Our own words for each status: the upstream's text is logged (scrubbed), never passed on, so nothing it says (a
 * phishing link, the key in any encoding) can reach a client.
 */
function statusError(status: number, headers: Record<string, string | string[] | undefined>): ProviderError {
  const rateLimit = parseRateLimitHeaders(headers);
  const make = (code: ImageErrorCode, retryable: boolean, message: string, retryAfterMs?: number) =>
    new ProviderError(message, {
      code,
      retryable,
      status,
      reason: `http_${status}`,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(rateLimit === undefined ? {} : { rateLimit }),
    });

  switch (status) {
    case 400:
      return make('INVALID_REQUEST', false, 'The image service rejected the request as invalid (HTTP 400).');
    case 401:
    case 403:
      // The upstream's own text may quote part of the key, so it is not passed on.
      return make(
        'UPSTREAM_AUTH',
        false,
        `The image service refused the server's API key (HTTP ${status}). The operator must check TOGETHER_API_KEY.`,
      );
    case 402:
      return make(
        'OUT_OF_CREDITS',
        false,
        'The image service account is out of credits or over its spending limit (HTTP 402).',
      );
    case 404:
      return make('INVALID_REQUEST', false, 'The image service does not know this model or path (HTTP 404).');
    case 408:
      return make('TIMEOUT', true, 'The image service timed out the request (HTTP 408).');
    case 422:
      return make(
        'CONTENT_FLAGGED',
        false,
        "The image service's safety checker flagged this prompt (HTTP 422); rephrase it.",
      );
    case 429:
      return make(
        'RATE_LIMITED',
        true,
        'The image service is rate limiting this server (HTTP 429).',
        parseRetryAfter(headers),
      );
    default:
      if (status >= 500 || status === 409) {
        return make(
          'UPSTREAM_UNAVAILABLE',
          true,
          `The image service is unavailable (HTTP ${status}).`,
          parseRetryAfter(headers),
        );
      }
      return make('INVALID_REQUEST', false, `The image service rejected the request (HTTP ${status}).`);
  }
}

function readErrorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as TogetherErrorBody;
    if (typeof body.error === 'string') return body.error;
    if (typeof body.error?.message === 'string') return body.error.message;
    if (typeof body.message === 'string') return body.message;
  } catch {
    // Not JSON (an HTML error page from a proxy, say): its text is no use to a teacher.
  }
  return '';
}
