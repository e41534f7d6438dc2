export {
  WorksheetImageGenerationService,
  type GenerateWorksheetOptions,
  type GenerationProgress,
  type IllustratedWorksheet,
  type WorksheetImageGenerationServiceOptions,
} from './worksheet-image-generation-service.js';
export {
  GraphQLRequestError,
  GraphQLTransportError,
  ImageGenerationError,
  type GraphQLErrorPayload,
} from './client-errors.js';
export { createHttpExecutor, type GraphQLExecutor, type HttpExecutorOptions } from './graphql-http.js';
export * from './operations.js';
export type * from './generated/graphql.js';
export type { Worksheet, WorksheetElement, WorksheetImageElement, WorksheetPage } from '../worksheet/worksheet.js';
export { apolloTypePolicies, graphcacheKeys, type ValueTypeName } from './normalized-cache.js';
