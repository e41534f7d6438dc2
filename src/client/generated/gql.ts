/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment ImageStateFields on ImageResult {\n    id\n    requestId\n    status\n    success\n    url\n    mimeType\n    placeholder\n    dimensions {\n      width\n      height\n    }\n    requestedDimensions {\n      width\n      height\n    }\n    attempts\n    error {\n      code\n      message\n      retryable\n    }\n    retryInMs\n  }\n": typeof types.ImageStateFieldsFragmentDoc,
    "\n  fragment ImageResultFields on ImageResult {\n    ...ImageStateFields\n    image\n  }\n": typeof types.ImageResultFieldsFragmentDoc,
    "\n  fragment GenerationStatsFields on GenerationStats {\n    total\n    successful\n    failed\n    cancelled\n    pending\n    retries\n    durationMs\n  }\n": typeof types.GenerationStatsFieldsFragmentDoc,
    "\n  fragment GenerationJobFields on GenerationJob {\n    id\n    status\n    results {\n      ...ImageStateFields\n    }\n    stats {\n      ...GenerationStatsFields\n    }\n    createdAt\n    finishedAt\n  }\n": typeof types.GenerationJobFieldsFragmentDoc,
    "\n  mutation StartWorksheetImages($input: GenerateWorksheetImagesInput!) {\n    startWorksheetImages(input: $input) {\n      id\n      status\n      stats {\n        ...GenerationStatsFields\n      }\n    }\n  }\n": typeof types.StartWorksheetImagesDocument,
    "\n  mutation GenerateWorksheetImages($input: GenerateWorksheetImagesInput!) {\n    generateWorksheetImages(input: $input) {\n      ...GenerationJobFields\n    }\n  }\n": typeof types.GenerateWorksheetImagesDocument,
    "\n  subscription GenerationProgress($jobId: ID!, $after: Int) {\n    generationProgress(jobId: $jobId, after: $after) {\n      jobId\n      sequence\n      done\n      progress {\n        completed\n        total\n        errors\n        current\n      }\n      stats {\n        ...GenerationStatsFields\n      }\n      image {\n        ...ImageResultFields\n      }\n    }\n  }\n": typeof types.GenerationProgressDocument,
    "\n  mutation CancelGeneration($jobId: ID!) {\n    cancelGeneration(jobId: $jobId) {\n      ...GenerationJobFields\n    }\n  }\n": typeof types.CancelGenerationDocument,
    "\n  query GenerationJob($id: ID!) {\n    generationJob(id: $id) {\n      ...GenerationJobFields\n    }\n  }\n": typeof types.GenerationJobDocument,
    "\n  mutation GenerateImage($prompt: String!, $width: Int!, $height: Int!, $seed: Int, $jobId: ID) {\n    generateImage(prompt: $prompt, width: $width, height: $height, seed: $seed, jobId: $jobId) {\n      ...ImageResultFields\n    }\n  }\n": typeof types.GenerateImageDocument,
};
const documents: Documents = {
    "\n  fragment ImageStateFields on ImageResult {\n    id\n    requestId\n    status\n    success\n    url\n    mimeType\n    placeholder\n    dimensions {\n      width\n      height\n    }\n    requestedDimensions {\n      width\n      height\n    }\n    attempts\n    error {\n      code\n      message\n      retryable\n    }\n    retryInMs\n  }\n": types.ImageStateFieldsFragmentDoc,
    "\n  fragment ImageResultFields on ImageResult {\n    ...ImageStateFields\n    image\n  }\n": types.ImageResultFieldsFragmentDoc,
    "\n  fragment GenerationStatsFields on GenerationStats {\n    total\n    successful\n    failed\n    cancelled\n    pending\n    retries\n    durationMs\n  }\n": types.GenerationStatsFieldsFragmentDoc,
    "\n  fragment GenerationJobFields on GenerationJob {\n    id\n    status\n    results {\n      ...ImageStateFields\n    }\n    stats {\n      ...GenerationStatsFields\n    }\n    createdAt\n    finishedAt\n  }\n": types.GenerationJobFieldsFragmentDoc,
    "\n  mutation StartWorksheetImages($input: GenerateWorksheetImagesInput!) {\n    startWorksheetImages(input: $input) {\n      id\n      status\n      stats {\n        ...GenerationStatsFields\n      }\n    }\n  }\n": types.StartWorksheetImagesDocument,
    "\n  mutation GenerateWorksheetImages($input: GenerateWorksheetImagesInput!) {\n    generateWorksheetImages(input: $input) {\n      ...GenerationJobFields\n    }\n  }\n": types.GenerateWorksheetImagesDocument,
    "\n  subscription GenerationProgress($jobId: ID!, $after: Int) {\n    generationProgress(jobId: $jobId, after: $after) {\n      jobId\n      sequence\n      done\n      progress {\n        completed\n        total\n        errors\n        current\n      }\n      stats {\n        ...GenerationStatsFields\n      }\n      image {\n        ...ImageResultFields\n      }\n    }\n  }\n": types.GenerationProgressDocument,
    "\n  mutation CancelGeneration($jobId: ID!) {\n    cancelGeneration(jobId: $jobId) {\n      ...GenerationJobFields\n    }\n  }\n": types.CancelGenerationDocument,
    "\n  query GenerationJob($id: ID!) {\n    generationJob(id: $id) {\n      ...GenerationJobFields\n    }\n  }\n": types.GenerationJobDocument,
    "\n  mutation GenerateImage($prompt: String!, $width: Int!, $height: Int!, $seed: Int, $jobId: ID) {\n    generateImage(prompt: $prompt, width: $width, height: $height, seed: $seed, jobId: $jobId) {\n      ...ImageResultFields\n    }\n  }\n": types.GenerateImageDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ImageStateFields on ImageResult {\n    id\n    requestId\n    status\n    success\n    url\n    mimeType\n    placeholder\n    dimensions {\n      width\n      height\n    }\n    requestedDimensions {\n      width\n      height\n    }\n    attempts\n    error {\n      code\n      message\n      retryable\n    }\n    retryInMs\n  }\n"): (typeof documents)["\n  fragment ImageStateFields on ImageResult {\n    id\n    requestId\n    status\n    success\n    url\n    mimeType\n    placeholder\n    dimensions {\n      width\n      height\n    }\n    requestedDimensions {\n      width\n      height\n    }\n    attempts\n    error {\n      code\n      message\n      retryable\n    }\n    retryInMs\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ImageResultFields on ImageResult {\n    ...ImageStateFields\n    image\n  }\n"): (typeof documents)["\n  fragment ImageResultFields on ImageResult {\n    ...ImageStateFields\n    image\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment GenerationStatsFields on GenerationStats {\n    total\n    successful\n    failed\n    cancelled\n    pending\n    retries\n    durationMs\n  }\n"): (typeof documents)["\n  fragment GenerationStatsFields on GenerationStats {\n    total\n    successful\n    failed\n    cancelled\n    pending\n    retries\n    durationMs\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment GenerationJobFields on GenerationJob {\n    id\n    status\n    results {\n      ...ImageStateFields\n    }\n    stats {\n      ...GenerationStatsFields\n    }\n    createdAt\n    finishedAt\n  }\n"): (typeof documents)["\n  fragment GenerationJobFields on GenerationJob {\n    id\n    status\n    results {\n      ...ImageStateFields\n    }\n    stats {\n      ...GenerationStatsFields\n    }\n    createdAt\n    finishedAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartWorksheetImages($input: GenerateWorksheetImagesInput!) {\n    startWorksheetImages(input: $input) {\n      id\n      status\n      stats {\n        ...GenerationStatsFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation StartWorksheetImages($input: GenerateWorksheetImagesInput!) {\n    startWorksheetImages(input: $input) {\n      id\n      status\n      stats {\n        ...GenerationStatsFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation GenerateWorksheetImages($input: GenerateWorksheetImagesInput!) {\n    generateWorksheetImages(input: $input) {\n      ...GenerationJobFields\n    }\n  }\n"): (typeof documents)["\n  mutation GenerateWorksheetImages($input: GenerateWorksheetImagesInput!) {\n    generateWorksheetImages(input: $input) {\n      ...GenerationJobFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription GenerationProgress($jobId: ID!, $after: Int) {\n    generationProgress(jobId: $jobId, after: $after) {\n      jobId\n      sequence\n      done\n      progress {\n        completed\n        total\n        errors\n        current\n      }\n      stats {\n        ...GenerationStatsFields\n      }\n      image {\n        ...ImageResultFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription GenerationProgress($jobId: ID!, $after: Int) {\n    generationProgress(jobId: $jobId, after: $after) {\n      jobId\n      sequence\n      done\n      progress {\n        completed\n        total\n        errors\n        current\n      }\n      stats {\n        ...GenerationStatsFields\n      }\n      image {\n        ...ImageResultFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelGeneration($jobId: ID!) {\n    cancelGeneration(jobId: $jobId) {\n      ...GenerationJobFields\n    }\n  }\n"): (typeof documents)["\n  mutation CancelGeneration($jobId: ID!) {\n    cancelGeneration(jobId: $jobId) {\n      ...GenerationJobFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GenerationJob($id: ID!) {\n    generationJob(id: $id) {\n      ...GenerationJobFields\n    }\n  }\n"): (typeof documents)["\n  query GenerationJob($id: ID!) {\n    generationJob(id: $id) {\n      ...GenerationJobFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation GenerateImage($prompt: String!, $width: Int!, $height: Int!, $seed: Int, $jobId: ID) {\n    generateImage(prompt: $prompt, width: $width, height: $height, seed: $seed, jobId: $jobId) {\n      ...ImageResultFields\n    }\n  }\n"): (typeof documents)["\n  mutation GenerateImage($prompt: String!, $width: Int!, $height: Int!, $seed: Int, $jobId: ID) {\n    generateImage(prompt: $prompt, width: $width, height: $height, seed: $seed, jobId: $jobId) {\n      ...ImageResultFields\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;