import { GraphQLTransportError } from './client-errors.js';
import type { ImageResultFieldsFragment, ImageStateFieldsFragment } from './generated/graphql.js';
import { fetchOf, type HttpExecutorOptions } from './graphql-http.js';

/** Pictures fetched at once: enough to hide each request's latency, few enough not to crowd the server. */
const DOWNLOAD_CONCURRENCY = 4;

/** Gives each image its picture as a data URL; `known` pictures (by requestId) are reused, the rest are fetched. */
export type ImageFiller = (
  results: readonly ImageStateFieldsFragment[],
  known: ReadonlyMap<string, string>,
) => Promise<ImageResultFieldsFragment[]>;

/**
 * A job's results are read with `url` rather than `image`, as no answer may carry more than the server's
 * MAX_INLINE_IMAGE_BYTES of pictures: the pictures the progress events did not bring are fetched from `url` (on the
 * GraphQL endpoint's origin, with the same token), a few at a time.
 */
export function createImageFiller(options: HttpExecutorOptions): ImageFiller {
  const fetchImpl = fetchOf(options.fetchImpl);
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};

  const download = async (path: string): Promise<string> => {
    const url = new URL(path, options.url).href;
    let response: Response;
    try {
      response = await fetchImpl(url, { headers });
    } catch (error) {
      throw new GraphQLTransportError(`Could not fetch the image at ${url}`, { cause: error });
    }
    if (!response.ok) {
      throw new GraphQLTransportError(`The server answered HTTP ${response.status} for the image at ${url}`, {
        status: response.status,
      });
    }
    const mimeType = response.headers.get('content-type') ?? 'application/octet-stream';
    return `data:${mimeType};base64,${toBase64(new Uint8Array(await response.arrayBuffer()))}`;
  };

  return async (results, known) => {
    const filled = new Array<ImageResultFieldsFragment>(results.length);
    let next = 0;
    const worker = async () => {
      while (next < results.length) {
        const index = next++;
        const result = results[index]!;
        const path = result.status === 'SUCCEEDED' ? result.url : null;
        try {
          const image = known.get(result.requestId) ?? (path ? await download(path) : null);
          filled[index] = { ...result, image };
        } catch (error) {
          next = results.length; // the answer is an error now: the other workers stop fetching.
          throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: DOWNLOAD_CONCURRENCY }, worker));
    return filled;
  };
}

/** btoa over bytes, in slices that stay below the engine's limit on call arguments. */
function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let start = 0; start < bytes.length; start += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return btoa(binary);
}
