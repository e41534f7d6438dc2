import type { EncodedImage } from '../generation/types.js';

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
  generate(request: ProviderRequest, signal: AbortSignal): Promise<EncodedImage>;
  close(): Promise<void>;
}
