/* eslint-disable */
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = T | null | undefined;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
};

/** A size in pixels. */
export type Dimensions = {
  /** Height in pixels. */
  height: Scalars['Int']['output'];
  /** Width in pixels. */
  width: Scalars['Int']['output'];
};

/** A worksheet's picture placeholders, generated together as one job. */
export type GenerateWorksheetImagesInput = {
  /** The images, 1 to 100, ids unique in the batch. */
  images: Array<ImageRequestInput>;
  /** Optional, chosen by the client; also an idempotency key: the same id with the same images answers the existing job and spends nothing more, with other images it is an error. Lets a client subscribe to generationProgress before it sends the mutation. */
  jobId?: InputMaybe<Scalars['ID']['input']>;
};

/** One step of a job's progress. */
export type GenerationEvent = {
  /** True on the final event, after which the stream ends. */
  done: Scalars['Boolean']['output'];
  /** The image whose state changed; null on the final event. */
  image: Maybe<ImageResult>;
  /** The job. */
  jobId: Scalars['ID']['output'];
  /** How far the job has come. */
  progress: Progress;
  /** 1, 2, 3 ... within the job, without gaps. */
  sequence: Scalars['Int']['output'];
  /** Counts over the job. */
  stats: GenerationStats;
};

/** One batch of a worksheet's images. */
export type GenerationJob = {
  /** When the job started (ISO 8601). */
  createdAt: Scalars['String']['output'];
  /** When the last image reached a final state (ISO 8601); null while RUNNING. */
  finishedAt: Maybe<Scalars['String']['output']>;
  /** The job id: the client-chosen jobId, or one the server made. */
  id: Scalars['ID']['output'];
  /** One result per requested image, in request order. An answer may carry at most 8388608 bytes of `image` data in all; beyond that the list is refused with RESPONSE_TOO_LARGE: ask for `url` instead. */
  results: Array<ImageResult>;
  /** Counts over the batch. */
  stats: GenerationStats;
  /** Where the job is in its life. */
  status: JobStatus;
};

/** Counts over a batch. total = successful + failed + cancelled + pending. */
export type GenerationStats = {
  /** Images that were CANCELLED. */
  cancelled: Scalars['Int']['output'];
  /** Milliseconds from the start of the batch to its end (or to now while it runs). */
  durationMs: Scalars['Int']['output'];
  /** Images that FAILED. */
  failed: Scalars['Int']['output'];
  /** Images not yet in a final state. */
  pending: Scalars['Int']['output'];
  /** Upstream requests beyond the first, summed over the batch. */
  retries: Scalars['Int']['output'];
  /** Images that SUCCEEDED. */
  successful: Scalars['Int']['output'];
  /** Images requested. */
  total: Scalars['Int']['output'];
};

/** Why an image failed, or why its last attempt failed while it is RETRYING. */
export type ImageError = {
  /** What kind of failure. */
  code: ImageErrorCode;
  /** What happened, in words an editor can show a teacher. */
  message: Scalars['String']['output'];
  /** Whether the same request may succeed if sent again later. */
  retryable: Scalars['Boolean']['output'];
};

/** Why an image has no picture. */
export type ImageErrorCode =
  /** The image was cancelled before it finished. */
  | 'CANCELLED'
  /** The image service's safety checker flagged the prompt; rephrase it. */
  | 'CONTENT_FLAGGED'
  /** An unexpected error in this server. */
  | 'INTERNAL'
  /** The image service rejected the request as invalid. */
  | 'INVALID_REQUEST'
  /** The server's image service account is out of credits. */
  | 'OUT_OF_CREDITS'
  /** The image service's rate limit kept the image waiting too long; try again later. */
  | 'RATE_LIMITED'
  /** The image service did not answer in time, on every attempt. */
  | 'TIMEOUT'
  /** The image service refused the server's API key; the operator must fix it. */
  | 'UPSTREAM_AUTH'
  /** The image service failed or could not be reached, on every attempt. */
  | 'UPSTREAM_UNAVAILABLE';

/** One picture placeholder to fill. */
export type ImageRequestInput = {
  /** Height in pixels, 64 to 1792; rounded to the nearest multiple of 16. */
  height: Scalars['Int']['input'];
  /** The client's key, unique in the batch, e.g. "0-1" = page 0, element 1. */
  id: Scalars['ID']['input'];
  /** What to draw; not blank, at most 2000 characters. */
  prompt: Scalars['String']['input'];
  /** The same seed and prompt give the same picture; omit it for a fresh one. */
  seed?: InputMaybe<Scalars['Int']['input']>;
  /** Width in pixels, 64 to 1792; rounded to the nearest multiple of 16. */
  width: Scalars['Int']['input'];
};

/** One requested image: its picture, or the reason it has none. */
export type ImageResult = {
  /** Upstream requests made for this image so far, the first included. */
  attempts: Scalars['Int']['output'];
  /** The picture's size in bytes, before base64. */
  byteLength: Maybe<Scalars['Int']['output']>;
  /** True when an identical request earlier in the batch was sent upstream once for both. */
  deduplicated: Scalars['Boolean']['output'];
  /** The size generated: each side rounded to a multiple of 16. */
  dimensions: Dimensions;
  /** Why the image failed or was cancelled; while RETRYING, why the last attempt failed. */
  error: Maybe<ImageError>;
  /** Unique across jobs: "<jobId>/<requestId>" (generateImage runs as a job of its own), so that normalized caches (Apollo, urql graphcache) never mix two jobs' images. */
  id: Scalars['ID']['output'];
  /** The picture as a data URL whose MIME type is that of the bytes (data:image/jpeg;base64,...); null until SUCCEEDED. */
  image: Maybe<Scalars['String']['output']>;
  /** The picture's MIME type, read from its bytes (image/jpeg, image/png, image/webp). */
  mimeType: Maybe<Scalars['String']['output']>;
  /** True when the picture comes from the embedded offline provider: a labelled placeholder, not a generated illustration. */
  placeholder: Scalars['Boolean']['output'];
  /** The client's key from ImageRequestInput, e.g. "0-1" for page 0, element 1 ("image" for generateImage): match results to requests by it. */
  requestId: Scalars['ID']['output'];
  /** The size asked for. */
  requestedDimensions: Dimensions;
  /** While RETRYING: milliseconds until the next attempt. */
  retryInMs: Maybe<Scalars['Int']['output']>;
  /** Where the image is in its life. */
  status: ImageStatus;
  /** Whether the image SUCCEEDED. */
  success: Scalars['Boolean']['output'];
  /** Where the picture's bytes can be fetched over HTTP, relative to the server (/images/<jobId>/<requestId>), with the same access token; null until SUCCEEDED. Ask for `url` instead of `image` to keep answers small for large batches. */
  url: Maybe<Scalars['String']['output']>;
};

/** Where an image is in its life. SUCCEEDED, FAILED and CANCELLED are final. */
export type ImageStatus =
  /** Stopped before it finished, by cancelGeneration or a server shutdown. */
  | 'CANCELLED'
  /** Done without a picture: `error` says why. */
  | 'FAILED'
  /** An attempt is in flight. */
  | 'GENERATING'
  /** Waiting for a free upstream slot. */
  | 'QUEUED'
  /** The last attempt failed for a reason that can pass; `error` says why and `retryInMs` when the next one starts. */
  | 'RETRYING'
  /** Done: `image` holds the picture. */
  | 'SUCCEEDED';

/** Where a job is in its life. */
export type JobStatus =
  /** The job was cancelled; images not finished by then are CANCELLED. */
  | 'CANCELLED'
  /** Every image has SUCCEEDED or FAILED. */
  | 'COMPLETED'
  /** Some images are not final yet. */
  | 'RUNNING';

/** Generating and cancelling. */
export type Mutation = {
  /** Cancels a job: queued images never start, requests in flight are aborted. Answers the job once every image is final; a finished job is answered as it is. */
  cancelGeneration: GenerationJob;
  /** One image, for a single placeholder, run as a job of one image: the same retries and limits apply, cancelGeneration and a server shutdown reach it, and its `url` serves the picture. Answers when the image is final. A failure is data: see `error`. */
  generateImage: ImageResult;
  /** Generates every image of the batch in parallel; answers when each one has succeeded, failed or been cancelled. A failed image is data (its `error`), not a GraphQL error. */
  generateWorksheetImages: GenerationJob;
  /** The same work as generateWorksheetImages, answered at once with the job RUNNING; follow it with generationProgress or generationJob. */
  startWorksheetImages: GenerationJob;
};


/** Generating and cancelling. */
export type MutationCancelGenerationArgs = {
  jobId: Scalars['ID']['input'];
};


/** Generating and cancelling. */
export type MutationGenerateImageArgs = {
  height: Scalars['Int']['input'];
  jobId?: InputMaybe<Scalars['ID']['input']>;
  prompt: Scalars['String']['input'];
  seed?: InputMaybe<Scalars['Int']['input']>;
  width: Scalars['Int']['input'];
};


/** Generating and cancelling. */
export type MutationGenerateWorksheetImagesArgs = {
  input: GenerateWorksheetImagesInput;
};


/** Generating and cancelling. */
export type MutationStartWorksheetImagesArgs = {
  input: GenerateWorksheetImagesInput;
};

/** How far a job has come. */
export type Progress = {
  /** Images in a final state. */
  completed: Scalars['Int']['output'];
  /** The prompt most recently sent upstream and still in flight; null when none is. */
  current: Maybe<Scalars['String']['output']>;
  /** Images that FAILED. */
  errors: Scalars['Int']['output'];
  /** Images in the job. */
  total: Scalars['Int']['output'];
};

/** Reading jobs. */
export type Query = {
  /** A job by id; null when unknown, no longer kept (finished jobs are kept for a limited time), or another token's. */
  generationJob: Maybe<GenerationJob>;
};


/** Reading jobs. */
export type QueryGenerationJobArgs = {
  id: Scalars['ID']['input'];
};

/** Following progress as it happens. */
export type Subscription = {
  /** Per-image progress of one job. Events already emitted are replayed first, so a late subscriber misses nothing; a job id not yet known is waited for (a client may subscribe before it sends the mutation with its own jobId), and a NOT_FOUND error ends the stream if it never comes. The stream ends after the event with done: true. A client that lost its connection resubscribes with `after` set to the last sequence it received, and gets no event twice. */
  generationProgress: GenerationEvent;
};


/** Following progress as it happens. */
export type SubscriptionGenerationProgressArgs = {
  after?: InputMaybe<Scalars['Int']['input']>;
  jobId: Scalars['ID']['input'];
};

export type ImageStateFieldsFragment = { id: string, requestId: string, status: ImageStatus, success: boolean, url: string | null, mimeType: string | null, placeholder: boolean, attempts: number, retryInMs: number | null, dimensions: { width: number, height: number }, requestedDimensions: { width: number, height: number }, error: { code: ImageErrorCode, message: string, retryable: boolean } | null };

export type ImageResultFieldsFragment = { image: string | null, id: string, requestId: string, status: ImageStatus, success: boolean, url: string | null, mimeType: string | null, placeholder: boolean, attempts: number, retryInMs: number | null, dimensions: { width: number, height: number }, requestedDimensions: { width: number, height: number }, error: { code: ImageErrorCode, message: string, retryable: boolean } | null };

export type GenerationStatsFieldsFragment = { total: number, successful: number, failed: number, cancelled: number, pending: number, retries: number, durationMs: number };

export type GenerationJobFieldsFragment = { id: string, status: JobStatus, createdAt: string, finishedAt: string | null, results: Array<{ id: string, requestId: string, status: ImageStatus, success: boolean, url: string | null, mimeType: string | null, placeholder: boolean, attempts: number, retryInMs: number | null, dimensions: { width: number, height: number }, requestedDimensions: { width: number, height: number }, error: { code: ImageErrorCode, message: string, retryable: boolean } | null }>, stats: { total: number, successful: number, failed: number, cancelled: number, pending: number, retries: number, durationMs: number } };

export type StartWorksheetImagesMutationVariables = Exact<{
  input: GenerateWorksheetImagesInput;
}>;


export type StartWorksheetImagesMutation = { startWorksheetImages: { id: string, status: JobStatus, stats: { total: number, successful: number, failed: number, cancelled: number, pending: number, retries: number, durationMs: number } } };

export type GenerateWorksheetImagesMutationVariables = Exact<{
  input: GenerateWorksheetImagesInput;
}>;


export type GenerateWorksheetImagesMutation = { generateWorksheetImages: { id: string, status: JobStatus, createdAt: string, finishedAt: string | null, results: Array<{ id: string, requestId: string, status: ImageStatus, success: boolean, url: string | null, mimeType: string | null, placeholder: boolean, attempts: number, retryInMs: number | null, dimensions: { width: number, height: number }, requestedDimensions: { width: number, height: number }, error: { code: ImageErrorCode, message: string, retryable: boolean } | null }>, stats: { total: number, successful: number, failed: number, cancelled: number, pending: number, retries: number, durationMs: number } } };

export type GenerationProgressSubscriptionVariables = Exact<{
  jobId: Scalars['ID']['input'];
  after?: InputMaybe<Scalars['Int']['input']>;
}>;


export type GenerationProgressSubscription = { generationProgress: { jobId: string, sequence: number, done: boolean, progress: { completed: number, total: number, errors: number, current: string | null }, stats: { total: number, successful: number, failed: number, cancelled: number, pending: number, retries: number, durationMs: number }, image: { image: string | null, id: string, requestId: string, status: ImageStatus, success: boolean, url: string | null, mimeType: string | null, placeholder: boolean, attempts: number, retryInMs: number | null, dimensions: { width: number, height: number }, requestedDimensions: { width: number, height: number }, error: { code: ImageErrorCode, message: string, retryable: boolean } | null } | null } };

export type CancelGenerationMutationVariables = Exact<{
  jobId: Scalars['ID']['input'];
}>;


export type CancelGenerationMutation = { cancelGeneration: { id: string, status: JobStatus, createdAt: string, finishedAt: string | null, results: Array<{ id: string, requestId: string, status: ImageStatus, success: boolean, url: string | null, mimeType: string | null, placeholder: boolean, attempts: number, retryInMs: number | null, dimensions: { width: number, height: number }, requestedDimensions: { width: number, height: number }, error: { code: ImageErrorCode, message: string, retryable: boolean } | null }>, stats: { total: number, successful: number, failed: number, cancelled: number, pending: number, retries: number, durationMs: number } } };

export type GenerationJobQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type GenerationJobQuery = { generationJob: { id: string, status: JobStatus, createdAt: string, finishedAt: string | null, results: Array<{ id: string, requestId: string, status: ImageStatus, success: boolean, url: string | null, mimeType: string | null, placeholder: boolean, attempts: number, retryInMs: number | null, dimensions: { width: number, height: number }, requestedDimensions: { width: number, height: number }, error: { code: ImageErrorCode, message: string, retryable: boolean } | null }>, stats: { total: number, successful: number, failed: number, cancelled: number, pending: number, retries: number, durationMs: number } } | null };

export type GenerateImageMutationVariables = Exact<{
  prompt: Scalars['String']['input'];
  width: Scalars['Int']['input'];
  height: Scalars['Int']['input'];
  seed?: InputMaybe<Scalars['Int']['input']>;
  jobId?: InputMaybe<Scalars['ID']['input']>;
}>;


export type GenerateImageMutation = { generateImage: { image: string | null, id: string, requestId: string, status: ImageStatus, success: boolean, url: string | null, mimeType: string | null, placeholder: boolean, attempts: number, retryInMs: number | null, dimensions: { width: number, height: number }, requestedDimensions: { width: number, height: number }, error: { code: ImageErrorCode, message: string, retryable: boolean } | null } };

export const ImageStateFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageStateFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"requestId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"success"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"dimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"requestedDimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"error"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}},{"kind":"Field","name":{"kind":"Name","value":"retryInMs"}}]}}]} as unknown as DocumentNode<ImageStateFieldsFragment, unknown>;
export const ImageResultFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageResultFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageStateFields"}},{"kind":"Field","name":{"kind":"Name","value":"image"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageStateFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"requestId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"success"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"dimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"requestedDimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"error"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}},{"kind":"Field","name":{"kind":"Name","value":"retryInMs"}}]}}]} as unknown as DocumentNode<ImageResultFieldsFragment, unknown>;
export const GenerationStatsFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GenerationStatsFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"GenerationStats"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"successful"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"cancelled"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"retries"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}}]}}]} as unknown as DocumentNode<GenerationStatsFieldsFragment, unknown>;
export const GenerationJobFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GenerationJobFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"GenerationJob"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"results"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageStateFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"stats"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"GenerationStatsFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageStateFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"requestId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"success"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"dimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"requestedDimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"error"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}},{"kind":"Field","name":{"kind":"Name","value":"retryInMs"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GenerationStatsFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"GenerationStats"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"successful"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"cancelled"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"retries"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}}]}}]} as unknown as DocumentNode<GenerationJobFieldsFragment, unknown>;
export const StartWorksheetImagesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"StartWorksheetImages"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"GenerateWorksheetImagesInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"startWorksheetImages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"stats"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"GenerationStatsFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GenerationStatsFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"GenerationStats"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"successful"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"cancelled"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"retries"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}}]}}]} as unknown as DocumentNode<StartWorksheetImagesMutation, StartWorksheetImagesMutationVariables>;
export const GenerateWorksheetImagesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"GenerateWorksheetImages"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"GenerateWorksheetImagesInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"generateWorksheetImages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"GenerationJobFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageStateFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"requestId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"success"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"dimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"requestedDimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"error"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}},{"kind":"Field","name":{"kind":"Name","value":"retryInMs"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GenerationStatsFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"GenerationStats"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"successful"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"cancelled"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"retries"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GenerationJobFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"GenerationJob"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"results"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageStateFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"stats"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"GenerationStatsFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}}]} as unknown as DocumentNode<GenerateWorksheetImagesMutation, GenerateWorksheetImagesMutationVariables>;
export const GenerationProgressDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"GenerationProgress"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"generationProgress"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"done"}},{"kind":"Field","name":{"kind":"Name","value":"progress"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"completed"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"errors"}},{"kind":"Field","name":{"kind":"Name","value":"current"}}]}},{"kind":"Field","name":{"kind":"Name","value":"stats"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"GenerationStatsFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"image"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageResultFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageStateFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"requestId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"success"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"dimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"requestedDimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"error"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}},{"kind":"Field","name":{"kind":"Name","value":"retryInMs"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GenerationStatsFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"GenerationStats"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"successful"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"cancelled"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"retries"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageResultFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageStateFields"}},{"kind":"Field","name":{"kind":"Name","value":"image"}}]}}]} as unknown as DocumentNode<GenerationProgressSubscription, GenerationProgressSubscriptionVariables>;
export const CancelGenerationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CancelGeneration"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelGeneration"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"GenerationJobFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageStateFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"requestId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"success"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"dimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"requestedDimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"error"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}},{"kind":"Field","name":{"kind":"Name","value":"retryInMs"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GenerationStatsFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"GenerationStats"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"successful"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"cancelled"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"retries"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GenerationJobFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"GenerationJob"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"results"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageStateFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"stats"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"GenerationStatsFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}}]} as unknown as DocumentNode<CancelGenerationMutation, CancelGenerationMutationVariables>;
export const GenerationJobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"GenerationJob"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"generationJob"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"GenerationJobFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageStateFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"requestId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"success"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"dimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"requestedDimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"error"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}},{"kind":"Field","name":{"kind":"Name","value":"retryInMs"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GenerationStatsFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"GenerationStats"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"successful"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"cancelled"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"retries"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"GenerationJobFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"GenerationJob"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"results"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageStateFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"stats"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"GenerationStatsFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}}]} as unknown as DocumentNode<GenerationJobQuery, GenerationJobQueryVariables>;
export const GenerateImageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"GenerateImage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"prompt"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"width"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"height"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"seed"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"generateImage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"prompt"},"value":{"kind":"Variable","name":{"kind":"Name","value":"prompt"}}},{"kind":"Argument","name":{"kind":"Name","value":"width"},"value":{"kind":"Variable","name":{"kind":"Name","value":"width"}}},{"kind":"Argument","name":{"kind":"Name","value":"height"},"value":{"kind":"Variable","name":{"kind":"Name","value":"height"}}},{"kind":"Argument","name":{"kind":"Name","value":"seed"},"value":{"kind":"Variable","name":{"kind":"Name","value":"seed"}}},{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageResultFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageStateFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"requestId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"success"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"dimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"requestedDimensions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"error"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}},{"kind":"Field","name":{"kind":"Name","value":"retryInMs"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageResultFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ImageResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageStateFields"}},{"kind":"Field","name":{"kind":"Name","value":"image"}}]}}]} as unknown as DocumentNode<GenerateImageMutation, GenerateImageMutationVariables>;