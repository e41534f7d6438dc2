import type { EncodedImage } from '../../images/types.js';
import { ProviderError } from '../provider-error.js';
import type { ImageProvider, ProviderRequest } from '../types.js';
import { loadPlaceholderFonts } from './placeholder-fonts.js';
import { renderPlaceholder } from './placeholder-renderer.js';
import { toDisplayText } from './text-layout.js';

export interface LocalProviderOptions {
  /** The wording of the banner that marks every picture as a placeholder. Default: "PLACEHOLDER · offline preview". */
  bannerText?: string;
}

export const DEFAULT_BANNER_TEXT = 'PLACEHOLDER · offline preview';

// Far above any size the schema allows; it only stops a bad request from allocating gigabytes of pixels.
const MAX_SIDE = 4096;

/**
 * The embedded provider: draws an offline preview for each prompt instead of calling an image model, so the
 * server works without a Together API key. Each picture shows its prompt and is plainly marked as a placeholder.
 * The first provider made registers the fonts, so a broken install fails at start rather than on the first worksheet.
 */
export function createLocalProvider(options: LocalProviderOptions = {}): ImageProvider {
  const givenBannerText: unknown = options.bannerText ?? DEFAULT_BANNER_TEXT;
  if (typeof givenBannerText !== 'string' || toDisplayText(givenBannerText) === '') {
    throw new TypeError(
      `Expected \`bannerText\` to be a string with something to show, got \`${String(givenBannerText)}\``,
    );
  }
  const bannerText = toDisplayText(givenBannerText);
  const fonts = loadPlaceholderFonts();

  return {
    name: 'local',
    placeholder: true,

    async generate(request: ProviderRequest, signal: AbortSignal): Promise<EncodedImage> {
      throwIfCancelled(signal);
      checkSize(request);

      let bytes: Buffer;
      try {
        bytes = await renderPlaceholder({ ...request, bannerText }, fonts);
      } catch (error) {
        throw new ProviderError(
          `The offline preview could not be drawn: ${error instanceof Error ? error.message : String(error)}`,
          {
            code: 'INTERNAL',
            retryable: false,
            reason: 'render_failed',
          },
        );
      }
      // Drawing takes milliseconds, but a batch cancelled meanwhile must not see the picture arrive as a success.
      throwIfCancelled(signal);
      return { mimeType: 'image/png', bytes };
    },

    // Nothing to release: the fonts stay registered for the process and every canvas lives only within one call.
    async close(): Promise<void> {},
  };
}

function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) {
    throw new ProviderError('The image was cancelled before its offline preview was finished.', {
      code: 'CANCELLED',
      retryable: false,
      reason: 'cancelled',
    });
  }
}

function checkSize({ width, height }: ProviderRequest): void {
  for (const [name, side] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(side) || side < 1 || side > MAX_SIDE) {
      throw new ProviderError(`The ${name} must be a whole number of pixels from 1 to ${MAX_SIDE}, got ${side}.`, {
        code: 'INVALID_REQUEST',
        retryable: false,
        reason: 'invalid_size',
      });
    }
  }
}
