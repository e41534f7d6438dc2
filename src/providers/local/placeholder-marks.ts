import type { SKRSContext2D } from '@napi-rs/canvas';
import { drawLines, measureWith } from './canvas-text.js';
import { fitText, type TextBox, type TextLayout } from './text-layout.js';

const BANNER_LINE_HEIGHT = 1.2;
// Below this a bold capital wording blurs into a grey bar; a single word drawn larger reads better.
const READABLE_FONT_SIZE = 8;
const BANNER_FILL = 'rgba(24, 26, 31, 0.92)';
const BANNER_TEXT = '#ffffff';
const ACCENT = '#ffc83d';

/**
 * Paints the dark banner across the top that says the picture is a placeholder, and returns where the banner
 * ends. On a canvas too narrow for the whole wording the banner falls back to its first word; on one too small
 * for any text it is a plain stripe, which together with the dashed border still sets the picture apart.
 */
export function paintBanner(
  context: SKRSContext2D,
  width: number,
  height: number,
  bannerText: string,
  family: string,
): number {
  const shortSide = Math.min(width, height);
  const padding = Math.max(2, Math.round(shortSide * 0.04));
  // Sized by area rather than the short side, so a wide strip gets a readable banner from its spare width.
  const largestFont = Math.max(7, Math.round(Math.sqrt(width * height) * 0.045));
  const layout = fitBanner(context, bannerText, family, {
    maxWidth: width - 2 * padding,
    // Room for two lines: a narrow picture may wrap the wording rather than shrink it below legibility.
    maxHeight: Math.min(height * 0.3, largestFont * BANNER_LINE_HEIGHT * 2),
    minFontSize: 6,
    maxFontSize: largestFont,
    lineHeight: BANNER_LINE_HEIGHT,
  });

  const verticalPadding = layout === null ? 0 : Math.max(2, Math.round(layout.fontSize * 0.4));
  const bannerHeight =
    layout === null ? Math.max(3, Math.round(shortSide * 0.06)) : Math.ceil(layout.height + 2 * verticalPadding);
  const accentHeight = Math.max(1, Math.round(shortSide * 0.01));

  context.fillStyle = BANNER_FILL;
  context.fillRect(0, 0, width, bannerHeight);
  context.fillStyle = ACCENT;
  context.fillRect(0, bannerHeight, width, accentHeight);
  if (layout !== null) {
    context.fillStyle = BANNER_TEXT;
    drawLines(context, layout, family, BANNER_LINE_HEIGHT, {
      left: padding,
      top: verticalPadding,
      width: width - 2 * padding,
      align: 'center',
    });
  }
  return bannerHeight + accentHeight;
}

/** The whole wording when it fits at a readable size, else its first word ("PLACEHOLDER"), else what fits. */
function fitBanner(context: SKRSContext2D, bannerText: string, family: string, box: TextBox): TextLayout | null {
  const measureEm = measureWith(context, family);
  const whole = fitText(bannerText, box, measureEm);
  if (whole !== null && !whole.truncated && whole.fontSize >= READABLE_FONT_SIZE) return whole;
  const firstWord = bannerText.split(' ')[0] ?? bannerText;
  const short = fitText(firstWord, box, measureEm);
  if (whole === null || (short !== null && !short.truncated)) return short;
  return whole;
}

/** A dashed frame, the usual mark of a space still to be filled, that stays visible on light and dark pictures. */
export function paintDashedBorder(context: SKRSContext2D, width: number, height: number): void {
  const lineWidth = Math.max(1, Math.round(Math.min(width, height) * 0.008));
  const inset = lineWidth / 2;
  context.lineWidth = lineWidth;
  context.strokeStyle = 'rgba(0, 0, 0, 0.55)';
  context.setLineDash([]);
  context.strokeRect(inset, inset, width - lineWidth, height - lineWidth);
  context.strokeStyle = 'rgba(255, 255, 255, 0.95)';
  context.setLineDash([lineWidth * 6, lineWidth * 4]);
  context.strokeRect(inset, inset, width - lineWidth, height - lineWidth);
  context.setLineDash([]);
}
