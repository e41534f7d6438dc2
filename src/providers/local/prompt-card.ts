import type { SKRSContext2D } from '@napi-rs/canvas';
import { drawLines, measureWith } from './canvas-text.js';
import { fitText, toDisplayText } from './text-layout.js';

const LINE_HEIGHT = 1.3;
// Near-black on a near-white card: well above WCAG AAA contrast whatever colours the background drew.
const CARD_FILL = 'rgba(255, 255, 255, 0.9)';
const CARD_OUTLINE = 'rgba(0, 0, 0, 0.15)';
const TEXT_FILL = '#1b1f24';
const PARAGRAPH_LINES = 3;

/** The part of the canvas the card may use, in pixels. */
export interface CardRegion {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/**
 * Writes the prompt on a light card centred in the region, at the largest size that fits. The smallest size
 * grows with the picture, because worksheets show pictures scaled down: a long prompt is cut with an ellipsis
 * rather than drawn too small to read. Draws nothing when not even one line fits.
 */
export function paintPromptCard(
  context: SKRSContext2D,
  prompt: string,
  region: CardRegion,
  canvasWidth: number,
  canvasHeight: number,
  family: string,
): void {
  const padding = Math.max(2, Math.round(Math.min(canvasWidth, canvasHeight) * 0.03));
  const regionWidth = region.right - region.left;
  const regionHeight = region.bottom - region.top;
  // Sized by area rather than the short side, so a long strip still gets text as large as its room allows.
  const scale = Math.sqrt(canvasWidth * canvasHeight);
  const minFontSize = Math.max(8, Math.round(scale * 0.028));
  const layout = fitText(
    toDisplayText(prompt),
    {
      maxWidth: regionWidth - 2 * padding,
      maxHeight: regionHeight - 2 * padding,
      minFontSize,
      maxFontSize: Math.max(minFontSize, Math.round(scale * 0.09)),
      lineHeight: LINE_HEIGHT,
    },
    measureWith(context, family),
  );
  if (layout === null) return;

  const cardWidth = Math.ceil(layout.width + 2 * padding);
  const cardHeight = Math.ceil(layout.height + 2 * padding);
  const cardLeft = Math.round(region.left + (regionWidth - cardWidth) / 2);
  const cardTop = Math.round(region.top + (regionHeight - cardHeight) / 2);

  context.beginPath();
  context.roundRect(cardLeft, cardTop, cardWidth, cardHeight, padding);
  context.fillStyle = CARD_FILL;
  context.fill();
  context.lineWidth = 1;
  context.strokeStyle = CARD_OUTLINE;
  context.stroke();

  context.fillStyle = TEXT_FILL;
  drawLines(context, layout, family, LINE_HEIGHT, {
    left: cardLeft + padding,
    top: cardTop + padding,
    width: layout.width,
    // A caption reads best centred; a paragraph reads best with a straight left edge.
    align: layout.lines.length > PARAGRAPH_LINES ? 'left' : 'center',
  });
}
