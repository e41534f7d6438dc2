import { z } from 'zod';
import type { Dimensions, ImageRequest } from './types.js';

/** The bounds a request must keep; one object serves the generation service and the GraphQL validation alike. */
export interface ImageLimits {
  minSide: number;
  maxSide: number;
  maxPromptLength: number;
  maxBatchSize: number;
}

const PATCH = 16;

/** FLUX works on 16-pixel patches: a side inside the bounds is rounded to the nearest multiple of 16 that stays inside. */
export function roundSide(side: number, limits: Pick<ImageLimits, 'minSide' | 'maxSide'>): number {
  const lowest = Math.ceil(limits.minSide / PATCH) * PATCH;
  const highest = Math.floor(limits.maxSide / PATCH) * PATCH;
  const rounded = Math.round(side / PATCH) * PATCH;
  return Math.min(highest, Math.max(lowest, rounded));
}

export function roundDimensions(requested: Dimensions, limits: Pick<ImageLimits, 'minSide' | 'maxSide'>): Dimensions {
  return { width: roundSide(requested.width, limits), height: roundSide(requested.height, limits) };
}

const ID_MAX_LENGTH = 128;

/** Zod schema of one image request, whose messages name the field and the limit. */
export function imageRequestSchema(limits: ImageLimits) {
  const side = (name: 'width' | 'height') =>
    z
      .number({ error: `${name} must be a whole number` })
      .int({ error: `${name} must be a whole number` })
      .min(limits.minSide, { error: `${name} must be at least ${limits.minSide} pixels` })
      .max(limits.maxSide, { error: `${name} must be at most ${limits.maxSide} pixels` });
  return z.object({
    id: z
      .string()
      .trim()
      .min(1, { error: 'id must not be blank' })
      .max(ID_MAX_LENGTH, { error: `id must be at most ${ID_MAX_LENGTH} characters` }),
    prompt: z
      .string()
      .refine((prompt) => prompt.trim().length > 0, { error: 'prompt must not be empty or blank' })
      .refine((prompt) => prompt.length <= limits.maxPromptLength, {
        error: `prompt must be at most ${limits.maxPromptLength} characters`,
      })
      .refine((prompt) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(prompt), {
        error: 'prompt must not contain control characters (tabs and line breaks are allowed)',
      }),
    width: side('width'),
    height: side('height'),
    seed: z
      .number()
      .int({ error: 'seed must be a whole number' })
      .min(0, { error: 'seed must be at least 0' })
      .max(2_147_483_647, { error: 'seed must be at most 2147483647' })
      .nullish(),
  });
}

/** Batches imageBatchSchema accepted, each with the limits it was checked against. */
const checkedBatches = new WeakMap<readonly ImageRequest[], ImageLimits>();

/**
 * Whether `requests` is a batch that imageBatchSchema accepted under the same limits. Such a batch is frozen, so it is
 * still what was checked: the GraphQL layer validates a mutation's input, and the job manager and the generation
 * service take its batch on without running the same schema again.
 */
export function isCheckedBatch(requests: readonly ImageRequest[], limits: ImageLimits): boolean {
  const checked = checkedBatches.get(requests);
  return (
    checked !== undefined &&
    (checked === limits ||
      (checked.minSide === limits.minSide &&
        checked.maxSide === limits.maxSide &&
        checked.maxPromptLength === limits.maxPromptLength &&
        checked.maxBatchSize === limits.maxBatchSize))
  );
}

/** Zod schema of a whole batch: size bounds and ids unique within the batch. Its output is frozen (see isCheckedBatch). */
export function imageBatchSchema(limits: ImageLimits) {
  return z
    .array(imageRequestSchema(limits))
    .min(1, { error: 'images must contain at least 1 image' })
    .max(limits.maxBatchSize, { error: `images must contain at most ${limits.maxBatchSize} images` })
    .superRefine((images, context) => {
      const firstIndexById = new Map<string, number>();
      images.forEach((image, index) => {
        const first = firstIndexById.get(image.id);
        if (first === undefined) {
          firstIndexById.set(image.id, index);
        } else {
          context.addIssue({
            code: 'custom',
            path: [index, 'id'],
            message: `id "${image.id}" is used twice: ids must be unique in the batch (first at images[${first}])`,
          });
        }
      });
    })
    .transform((images): readonly ImageRequest[] => {
      for (const image of images) Object.freeze(image);
      const batch = Object.freeze(images);
      checkedBatches.set(batch, limits);
      return batch;
    });
}
