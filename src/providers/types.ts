import type { EncodedImage } from '../images/types.js';
import type { RateLimitHeaders } from './rate-limit-headers.js';

/** What a provider is asked to draw. Sides are already validated and rounded to multiples of 16. */
export interface ProviderRequest {
  prompt: string;
  width: number;
  height: number;
  seed?: number | null;
}

/**
 * One way of turning a prompt into image bytes. A provider makes exactly one attempt per call;
 * retrying, concurrency and progress belong to the generation service.
 * It throws a ProviderError (src/providers/provider-error.ts) for anything that went wrong.
 */
export interface ImageProvider {
  readonly name: 'together' | 'local';
  /** Whether the images are placeholders rather than real generations. */
  readonly placeholder: boolean;
  /**
   * `onRateLimit` hears what a successful answer said about the key's rate limit (x-ratelimit-*), so the limiter can
   * pace to it; a failed answer carries the same on its ProviderError.
   */
  generate(
    request: ProviderRequest,
    signal: AbortSignal,
    onRateLimit?: (rateLimit: RateLimitHeaders) => void,
  ): Promise<EncodedImage>;
  close(): Promise<void>;
}
