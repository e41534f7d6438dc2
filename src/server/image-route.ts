import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JobManager } from '../jobs/job-manager.js';
import { isConnectionError, StoreUnavailableError } from '../jobs/redis-connection.js';
import type { Caller } from './access-control.js';
import { pathOf, type Route } from './routes.js';

const PREFIX = '/images/';

/**
 * GET /images/<jobId>/<imageId>: a finished image's bytes, as stored, with their own MIME type. Large batches can
 * ask GraphQL for `url` instead of `image` and fetch the pictures one at a time, so no answer holds them all.
 * Only the caller's tenant's jobs are looked in: another tenant's image is answered exactly as an unknown one.
 */
export function createImageRoute(jobs: JobManager): Route {
  // "Not mine" is answered without a promise: every GraphQL request asks this route first.
  return (request, response, caller) => {
    const path = pathOf(request);
    return path.startsWith(PREFIX) ? serveImage(jobs, path, request, response, caller) : false;
  };
}

async function serveImage(
  jobs: JobManager,
  path: string,
  request: IncomingMessage,
  response: ServerResponse,
  caller: Caller | undefined,
): Promise<boolean> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD' }).end();
    return true;
  }
  const parts = path.slice(PREFIX.length).split('/');
  const [jobId, imageId] = parts.map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return undefined;
    }
  });
  let image: Awaited<ReturnType<JobManager['image']>>;
  try {
    image = parts.length === 2 && jobId && imageId ? await jobs.image(jobId, imageId, caller?.tenant) : undefined;
  } catch (error) {
    if (!isConnectionError(error)) throw error;
    response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
    response.end(JSON.stringify({ error: new StoreUnavailableError().message }));
    return true;
  }
  if (!image) {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ error: 'No such image: the job or image is unknown, not finished, or no longer kept.' }),
    );
    return true;
  }
  response.writeHead(200, {
    'content-type': image.mimeType,
    'content-length': image.bytes.length,
    // A job's image never changes once made; it is the caller's own, so shared caches keep out.
    'cache-control': 'private, max-age=3600, immutable',
    'x-content-type-options': 'nosniff',
  });
  response.end(request.method === 'HEAD' ? undefined : image.bytes);
  return true;
}
