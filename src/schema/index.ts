import type { GraphQLSchema } from 'graphql';
import type { ImageLimits } from '../generation/image-limits.js';
import { createBuilder } from './builder.js';
import { addImageTypes } from './images.js';
import { addJobTypes } from './jobs.js';
import { addProgressTypes } from './progress.js';

export type { GraphQLContext } from './builder.js';

export interface SchemaOptions {
  /** Image bytes one query or mutation may answer inline as `image` data URLs; see inline-images.ts. */
  maxInlineImageBytes: number;
}

/** 8 MiB: 20 such answers built at once stay well under a gigabyte, and a 10-image worksheet fits inline. */
export const DEFAULT_MAX_INLINE_IMAGE_BYTES = 8 * 1024 * 1024;

/** The whole GraphQL schema; the limits go into input validation and descriptions. */
export function buildSchema(
  limits: ImageLimits,
  options: SchemaOptions = { maxInlineImageBytes: DEFAULT_MAX_INLINE_IMAGE_BYTES },
): GraphQLSchema {
  const builder = createBuilder();
  builder.queryType({ description: 'Reading jobs.' });
  builder.mutationType({ description: 'Generating and cancelling.' });
  builder.subscriptionType({ description: 'Following progress as it happens.' });
  const images = addImageTypes(builder, limits);
  addJobTypes(builder, limits, images, options.maxInlineImageBytes);
  addProgressTypes(builder, images);
  return builder.toSchema({ sortSchema: false });
}
