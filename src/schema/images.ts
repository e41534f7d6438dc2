import { GraphQLError } from 'graphql';
import { z } from 'zod';
import { toDataUrl } from '../images/image-mime.js';
import { describedValues, IMAGE_STATUS_DESCRIPTIONS } from '../generation/states.js';
import { imageRequestSchema, type ImageLimits } from '../generation/image-limits.js';
import type { Dimensions, GenerationStats, ImageError, ImageResult } from '../generation/types.js';
import { JobConflictError } from '../jobs/job-errors.js';
import type { Builder } from './builder.js';
import { answer } from './errors.js';

const ERROR_CODES = {
  RATE_LIMITED: { description: "The image service's rate limit kept the image waiting too long; try again later." },
  UPSTREAM_UNAVAILABLE: { description: 'The image service failed or could not be reached, on every attempt.' },
  TIMEOUT: { description: 'The image service did not answer in time, on every attempt.' },
  CONTENT_FLAGGED: { description: "The image service's safety checker flagged the prompt; rephrase it." },
  INVALID_REQUEST: { description: 'The image service rejected the request as invalid.' },
  UPSTREAM_AUTH: { description: "The image service refused the server's API key; the operator must fix it." },
  OUT_OF_CREDITS: { description: "The server's image service account is out of credits." },
  CANCELLED: { description: 'The image was cancelled before it finished.' },
  INTERNAL: { description: 'An unexpected error in this server.' },
} as const;

/**
 * A result as GraphQL sees it: every image belongs to a stored job (generateImage's too), whose id makes the result's
 * `id` unique across jobs (normalized caches key on it) and names the URL of its bytes.
 */
export type JobImageResult = ImageResult & { jobId: string };

/** A result of a stored job, ready for GraphQL. */
export function inJob(jobId: string, result: ImageResult): JobImageResult {
  return { ...result, jobId };
}

/** The HTTP path of a job's image bytes, served by src/server/image-route.ts. */
export function imagePath(jobId: string, imageId: string): string {
  return `/images/${encodeURIComponent(jobId)}/${encodeURIComponent(imageId)}`;
}

/** generateImage's request id within its one-image job. */
const SINGLE_IMAGE_ID = 'image';

/** The types every domain shares: image requests and results, sizes, errors and stats. */
export function addImageTypes(builder: Builder, limits: ImageLimits) {
  const ImageStatus = builder.enumType('ImageStatus', {
    description: 'Where an image is in its life. SUCCEEDED, FAILED and CANCELLED are final.',
    values: describedValues(IMAGE_STATUS_DESCRIPTIONS),
  });
  const ImageErrorCode = builder.enumType('ImageErrorCode', {
    description: 'Why an image has no picture.',
    values: ERROR_CODES,
  });

  const DimensionsRef = builder.objectRef<Dimensions>('Dimensions').implement({
    description: 'A size in pixels.',
    fields: (t) => ({
      width: t.exposeInt('width', { description: 'Width in pixels.' }),
      height: t.exposeInt('height', { description: 'Height in pixels.' }),
    }),
  });

  const ImageErrorRef = builder.objectRef<ImageError>('ImageError').implement({
    description: 'Why an image failed, or why its last attempt failed while it is RETRYING.',
    fields: (t) => ({
      code: t.field({ type: ImageErrorCode, description: 'What kind of failure.', resolve: (error) => error.code }),
      message: t.exposeString('message', { description: 'What happened, in words an editor can show a teacher.' }),
      retryable: t.exposeBoolean('retryable', {
        description: 'Whether the same request may succeed if sent again later.',
      }),
    }),
  });

  const ImageResultRef = builder.objectRef<JobImageResult>('ImageResult').implement({
    description: 'One requested image: its picture, or the reason it has none.',
    fields: (t) => ({
      id: t.id({
        description:
          'Unique across jobs: "<jobId>/<requestId>" (generateImage runs as a job of its own), so that normalized caches (Apollo, urql graphcache) never mix two jobs\' images.',
        resolve: (result) => `${result.jobId}/${result.id}`,
      }),
      requestId: t.id({
        description:
          'The client\'s key from ImageRequestInput, e.g. "0-1" for page 0, element 1 ("image" for generateImage): match results to requests by it.',
        resolve: (result) => result.id,
      }),
      status: t.field({
        type: ImageStatus,
        description: 'Where the image is in its life.',
        resolve: (result) => result.status,
      }),
      success: t.boolean({
        description: 'Whether the image SUCCEEDED.',
        resolve: (result) => result.status === 'SUCCEEDED',
      }),
      image: t.string({
        nullable: true,
        description:
          'The picture as a data URL whose MIME type is that of the bytes (data:image/jpeg;base64,...); null until SUCCEEDED.',
        resolve: (result) => (result.image ? toDataUrl(result.image) : null),
      }),
      url: t.string({
        nullable: true,
        description:
          "Where the picture's bytes can be fetched over HTTP, relative to the server (/images/<jobId>/<requestId>), with the same access token; null until SUCCEEDED. Ask for `url` instead of `image` to keep answers small for large batches.",
        resolve: (result) => (result.image ? imagePath(result.jobId, result.id) : null),
      }),
      mimeType: t.string({
        nullable: true,
        description: "The picture's MIME type, read from its bytes (image/jpeg, image/png, image/webp).",
        resolve: (result) => result.image?.mimeType ?? null,
      }),
      byteLength: t.int({
        nullable: true,
        description: "The picture's size in bytes, before base64.",
        resolve: (result) => result.image?.bytes.length ?? null,
      }),
      placeholder: t.boolean({
        description:
          'True when the picture comes from the embedded offline provider: a labelled placeholder, not a generated illustration.',
        resolve: (_result, _args, context) => context.service.provider.placeholder,
      }),
      dimensions: t.field({
        type: DimensionsRef,
        description: 'The size generated: each side rounded to a multiple of 16.',
        resolve: (result) => result.dimensions,
      }),
      requestedDimensions: t.field({
        type: DimensionsRef,
        description: 'The size asked for.',
        resolve: (result) => result.requestedDimensions,
      }),
      attempts: t.exposeInt('attempts', {
        description: 'Upstream requests made for this image so far, the first included.',
      }),
      error: t.field({
        type: ImageErrorRef,
        nullable: true,
        description: 'Why the image failed or was cancelled; while RETRYING, why the last attempt failed.',
        resolve: (result) => result.error,
      }),
      retryInMs: t.int({
        nullable: true,
        description: 'While RETRYING: milliseconds until the next attempt.',
        resolve: (result) => result.retryInMs,
      }),
      deduplicated: t.exposeBoolean('deduplicated', {
        description: 'True when an identical request earlier in the batch was sent upstream once for both.',
      }),
    }),
  });

  const GenerationStatsRef = builder.objectRef<GenerationStats>('GenerationStats').implement({
    description: 'Counts over a batch. total = successful + failed + cancelled + pending.',
    fields: (t) => ({
      total: t.exposeInt('total', { description: 'Images requested.' }),
      successful: t.exposeInt('successful', { description: 'Images that SUCCEEDED.' }),
      failed: t.exposeInt('failed', { description: 'Images that FAILED.' }),
      cancelled: t.exposeInt('cancelled', { description: 'Images that were CANCELLED.' }),
      pending: t.exposeInt('pending', { description: 'Images not yet in a final state.' }),
      retries: t.exposeInt('retries', { description: 'Upstream requests beyond the first, summed over the batch.' }),
      durationMs: t.exposeInt('durationMs', {
        description: 'Milliseconds from the start of the batch to its end (or to now while it runs).',
      }),
    }),
  });

  const ImageRequestInput = builder.inputType('ImageRequestInput', {
    description: 'One picture placeholder to fill.',
    fields: (t) => ({
      id: t.id({
        required: true,
        description: 'The client\'s key, unique in the batch, e.g. "0-1" = page 0, element 1.',
      }),
      prompt: t.string({
        required: true,
        description: `What to draw; not blank, at most ${limits.maxPromptLength} characters.`,
      }),
      width: t.int({
        required: true,
        description: `Width in pixels, ${limits.minSide} to ${limits.maxSide}; rounded to the nearest multiple of 16.`,
      }),
      height: t.int({
        required: true,
        description: `Height in pixels, ${limits.minSide} to ${limits.maxSide}; rounded to the nearest multiple of 16.`,
      }),
      seed: t.int({ description: 'The same seed and prompt give the same picture; omit it for a fresh one.' }),
    }),
  });

  builder.mutationField('generateImage', (t) =>
    t.field({
      type: ImageResultRef,
      description:
        'One image, for a single placeholder, run as a job of one image: the same retries and limits apply, cancelGeneration and a server shutdown reach it, and its `url` serves the picture. Answers when the image is final. A failure is data: see `error`.',
      args: {
        prompt: t.arg.string({ required: true, description: 'What to draw.' }),
        width: t.arg.int({ required: true, description: 'Width in pixels.' }),
        height: t.arg.int({ required: true, description: 'Height in pixels.' }),
        seed: t.arg.int({ description: 'Optional seed for a reproducible picture.' }),
        jobId: t.arg.id({
          description:
            "Optional id of the image's job, chosen by the client, so that it can cancelGeneration(jobId) or follow generationProgress(jobId) from another request while this one waits. Also an idempotency key: the same id with the same image answers the existing job and spends nothing more; with another image it is an error.",
        }),
      },
      validate: imageRequestSchema(limits).omit({ id: true }).extend({ jobId: jobIdSchema.nullish() }),
      resolve: (_root, { jobId, ...image }, context) =>
        answer(async () => {
          const started = await context.jobs
            .start({
              jobId,
              images: [{ id: SINGLE_IMAGE_ID, ...image }],
              owner: context.owner,
              tenant: context.tenant,
            })
            .catch((error: unknown) => {
              throw error instanceof JobConflictError ? singleImageConflict(error.jobId) : error;
            });
          const job = await started.finished;
          const [result] = job.results;
          if (!result) throw new Error('a job of one image finished with no result');
          return inJob(job.id, result);
        }),
    }),
  );

  return { ImageResultRef, GenerationStatsRef, ImageRequestInput };
}

export type ImageTypes = ReturnType<typeof addImageTypes>;

/** generateImage's jobId names a job of other images: the error names its own argument, not a batch's input field. */
function singleImageConflict(jobId: string): GraphQLError {
  const message = `jobId "${jobId}" is already used by a job with a different image; use a new jobId for a new image`;
  return new GraphQLError(message, {
    extensions: { code: 'BAD_USER_INPUT', issues: [{ field: 'jobId', message }] },
  });
}

/** Zod for GenerateWorksheetImagesInput, so its errors name `input.images[3].width` and the limit. */
export const jobIdSchema = z
  .string()
  .trim()
  .min(1, { error: 'jobId must not be blank' })
  .max(128, { error: 'jobId must be at most 128 characters' });
