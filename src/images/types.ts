/**
 * The image vocabulary shared by the providers and everything above them. It lives below both so that imports run one
 * way: providers know nothing of generation, jobs or the schema.
 */

/** Encoded image bytes as the provider returned them, labelled by their own signature. */
export interface EncodedImage {
  mimeType: string;
  bytes: Buffer;
}

export type ImageErrorCode =
  | 'RATE_LIMITED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'TIMEOUT'
  | 'CONTENT_FLAGGED'
  | 'INVALID_REQUEST'
  | 'UPSTREAM_AUTH'
  | 'OUT_OF_CREDITS'
  | 'CANCELLED'
  | 'INTERNAL';
