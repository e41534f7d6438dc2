import type { SKRSContext2D } from '@napi-rs/canvas';
import type { MeasureEm, TextLayout } from './text-layout.js';

// Large enough that rounding in the font engine does not show once widths are scaled down to small sizes.
const REFERENCE_FONT_SIZE = 100;

/** Measures with the canvas itself, so the layout wraps exactly where the drawn glyphs would overflow. */
export function measureWith(context: SKRSContext2D, family: string): MeasureEm {
  const font = `${REFERENCE_FONT_SIZE}px "${family}"`;
  return (text) => {
    context.font = font;
    return context.measureText(text).width / REFERENCE_FONT_SIZE;
  };
}

/** Where laid-out lines go: the box's left edge and width, and the top of the first line. */
export interface LinePlacement {
  left: number;
  top: number;
  width: number;
  align: 'center' | 'left';
}

export function drawLines(
  context: SKRSContext2D,
  layout: TextLayout,
  family: string,
  lineHeight: number,
  placement: LinePlacement,
): void {
  context.font = `${layout.fontSize}px "${family}"`;
  context.textAlign = placement.align;
  context.textBaseline = 'middle';
  const x = placement.align === 'center' ? placement.left + placement.width / 2 : placement.left;
  const step = layout.fontSize * lineHeight;
  layout.lines.forEach((line, index) => {
    // maxWidth squeezes a line whose kerning made it a hair wider than the layout's sum of word widths.
    context.fillText(line, x, placement.top + step * (index + 0.5), placement.width);
  });
}
