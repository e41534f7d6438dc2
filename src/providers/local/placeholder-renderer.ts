import { createCanvas } from '@napi-rs/canvas';
import { paintBackground } from './background-painter.js';
import type { PlaceholderFonts } from './placeholder-fonts.js';
import { paintBanner, paintDashedBorder } from './placeholder-marks.js';
import { encodeOpaquePng } from './png-encoder.js';
import { paintPromptCard } from './prompt-card.js';
import { pickPalette } from './scene-palette.js';
import { createSceneRandom } from './scene-random.js';

export interface PlaceholderPicture {
  prompt: string;
  width: number;
  height: number;
  seed?: number | null;
  bannerText: string;
}

/**
 * Draws one placeholder and encodes it as PNG. The same picture always gives the same bytes: every choice
 * comes from the prompt's random stream, the fonts are our own, and the text language is pinned rather than
 * taken from the host's locale.
 */
export async function renderPlaceholder(picture: PlaceholderPicture, fonts: PlaceholderFonts): Promise<Buffer> {
  const { width, height } = picture;
  const canvas = createCanvas(width, height);
  // Opaque, so the pixels need no unpremultiplying and the PNG can be RGB.
  const context = canvas.getContext('2d', { alpha: false });
  context.lang = 'en';

  const random = createSceneRandom(picture.prompt, picture.seed);
  paintBackground(context, width, height, pickPalette(random), random);

  const shortSide = Math.min(width, height);
  const margin = Math.max(2, Math.round(shortSide * 0.04));
  const bannerBottom = paintBanner(context, width, height, picture.bannerText, fonts.bold);
  paintPromptCard(
    context,
    picture.prompt,
    { left: margin, top: bannerBottom + margin, right: width - margin, bottom: height - margin },
    width,
    height,
    fonts.regular,
  );
  paintDashedBorder(context, width, height);

  return encodeOpaquePng(context.getImageData(0, 0, width, height).data, width, height);
}
