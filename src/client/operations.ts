import { graphql } from './generated/gql.js';

/**
 * One image's state and, when it has no picture, why; `url` instead of the picture itself, so that a whole job's
 * results fit in one answer (the server refuses answers holding more than MAX_INLINE_IMAGE_BYTES of pictures).
 */
export const imageStateFieldsFragment = graphql(`
  fragment ImageStateFields on ImageResult {
    id
    requestId
    status
    success
    url
    mimeType
    placeholder
    dimensions {
      width
      height
    }
    requestedDimensions {
      width
      height
    }
    attempts
    error {
      code
      message
      retryable
    }
    retryInMs
  }
`);

/** Everything a client shows about one image, its picture inline: for answers that carry one image at most. */
export const imageResultFieldsFragment = graphql(`
  fragment ImageResultFields on ImageResult {
    ...ImageStateFields
    image
  }
`);

export const generationStatsFieldsFragment = graphql(`
  fragment GenerationStatsFields on GenerationStats {
    total
    successful
    failed
    cancelled
    pending
    retries
    durationMs
  }
`);

export const generationJobFieldsFragment = graphql(`
  fragment GenerationJobFields on GenerationJob {
    id
    status
    results {
      ...ImageStateFields
    }
    stats {
      ...GenerationStatsFields
    }
    createdAt
    finishedAt
  }
`);

/** Starts a batch and answers at once; follow it with GenerationProgress or GenerationJob. */
export const startWorksheetImagesMutation = graphql(`
  mutation StartWorksheetImages($input: GenerateWorksheetImagesInput!) {
    startWorksheetImages(input: $input) {
      id
      status
      stats {
        ...GenerationStatsFields
      }
    }
  }
`);

/** Generates a batch and answers when every image is final. */
export const generateWorksheetImagesMutation = graphql(`
  mutation GenerateWorksheetImages($input: GenerateWorksheetImagesInput!) {
    generateWorksheetImages(input: $input) {
      ...GenerationJobFields
    }
  }
`);

/**
 * Per-image progress of one job; already emitted events are replayed first (those after `after` when it is given,
 * for a client resuming after a dropped connection), the stream ends after done: true.
 */
export const generationProgressSubscription = graphql(`
  subscription GenerationProgress($jobId: ID!, $after: Int) {
    generationProgress(jobId: $jobId, after: $after) {
      jobId
      sequence
      done
      progress {
        completed
        total
        errors
        current
      }
      stats {
        ...GenerationStatsFields
      }
      image {
        ...ImageResultFields
      }
    }
  }
`);

export const cancelGenerationMutation = graphql(`
  mutation CancelGeneration($jobId: ID!) {
    cancelGeneration(jobId: $jobId) {
      ...GenerationJobFields
    }
  }
`);

export const generationJobQuery = graphql(`
  query GenerationJob($id: ID!) {
    generationJob(id: $id) {
      ...GenerationJobFields
    }
  }
`);

/** One image for a single placeholder. */
export const generateImageMutation = graphql(`
  mutation GenerateImage($prompt: String!, $width: Int!, $height: Int!, $seed: Int, $jobId: ID) {
    generateImage(prompt: $prompt, width: $width, height: $height, seed: $seed, jobId: $jobId) {
      ...ImageResultFields
    }
  }
`);
