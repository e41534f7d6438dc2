import type { GraphQLSchema } from 'graphql';
import type { ImageLimits } from '../generation/image-limits.js';
import { createBuilder } from './builder.js';
import { addImageTypes } from './images.js';
import { addJobTypes } from './jobs.js';
import { addProgressTypes } from './progress.js';

export type { GraphQLContext } from './builder.js';

/** The whole GraphQL schema; the limits go into input validation and descriptions. */
export function buildSchema(limits: ImageLimits): GraphQLSchema {
  const builder = createBuilder();
  builder.queryType({ description: 'Reading jobs.' });
  builder.mutationType({ description: 'Generating and cancelling.' });
  builder.subscriptionType({ description: 'Following progress as it happens.' });
  const images = addImageTypes(builder, limits);
  addJobTypes(builder, limits, images);
  addProgressTypes(builder, images);
  return builder.toSchema({ sortSchema: false });
}
