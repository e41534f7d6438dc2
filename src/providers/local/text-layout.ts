/** Width of a text drawn at a font size of 1 px. Glyph advances scale linearly, so one measurement serves every size. */
export type MeasureEm = (text: string) => number;

/** The room a text may take and the sizes it may be drawn at, in pixels. */
export interface TextBox {
  maxWidth: number;
  maxHeight: number;
  minFontSize: number;
  maxFontSize: number;
  /** Distance between baselines as a multiple of the font size. */
  lineHeight: number;
}

export interface TextLayout {
  fontSize: number;
  lines: readonly string[];
  /** Whether text was cut off and the last line ends in an ellipsis. */
  truncated: boolean;
  /** Width of the widest line, in pixels. */
  width: number;
  /** lines.length × fontSize × lineHeight. */
  height: number;
}

const ELLIPSIS = '…';

// Beyond this the text cannot fit on any supported canvas at a legible size; cutting early keeps a huge prompt cheap.
const MAX_GRAPHEMES = 6000;

const graphemeSegmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Makes a prompt safe and tidy to draw on one line of words: every run of whitespace becomes one space, control
 * characters go, and unpaired surrogates become U+FFFD so that no half of an emoji reaches the font engine.
 */
export function toDisplayText(prompt: string): string {
  return prompt
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/\s+/g, ' ')
    .replace(/\p{Cc}/gu, '')
    .trim();
}

/**
 * Finds the largest font size at which the whole text fits the box, wrapping at spaces and breaking words that
 * are wider than a line between graphemes. When even the smallest size is too big, the text is cut after the last
 * line that fits and ends in an ellipsis. Returns null when not one line fits, or the text is empty.
 */
export function fitText(text: string, box: TextBox, measureEm: MeasureEm): TextLayout | null {
  if (text === '' || box.maxWidth <= 0) return null;
  const minFontSize = Math.max(1, Math.floor(box.minFontSize));
  if (maxLinesAt(minFontSize, box) < 1) return null;

  const wrapper = new Wrapper(text, measureEm);
  if (wrapper.isEmpty) return null;
  const largest = Math.min(Math.floor(box.maxFontSize), Math.floor(box.maxHeight / box.lineHeight));

  let fitting: number | null = null;
  let low = minFontSize;
  let high = Math.max(minFontSize, largest);
  while (low <= high) {
    const size = Math.floor((low + high) / 2);
    if (wrapper.wrap(box.maxWidth / size, maxLinesAt(size, box)).overflowed) {
      high = size - 1;
    } else {
      fitting = size;
      low = size + 1;
    }
  }

  if (fitting !== null) {
    return toLayout(wrapper.wrap(box.maxWidth / fitting, maxLinesAt(fitting, box)).lines, fitting, false, box);
  }

  const maxLines = maxLinesAt(minFontSize, box);
  const maxEm = box.maxWidth / minFontSize;
  const { lines } = wrapper.wrap(maxEm, maxLines);
  const kept = lines.slice(0, maxLines);
  const last = kept.pop() ?? { text: '', em: 0 };
  kept.push(wrapper.ellipsize(last.text, maxEm));
  return toLayout(kept, minFontSize, true, box);
}

function maxLinesAt(fontSize: number, box: TextBox): number {
  return Math.floor(box.maxHeight / (fontSize * box.lineHeight));
}

function toLayout(lines: readonly Line[], fontSize: number, truncated: boolean, box: TextBox): TextLayout {
  const widestEm = lines.reduce((widest, line) => Math.max(widest, line.em), 0);
  return {
    fontSize,
    lines: lines.map((line) => line.text),
    truncated,
    width: Math.min(box.maxWidth, widestEm * fontSize),
    height: lines.length * fontSize * box.lineHeight,
  };
}

interface Line {
  text: string;
  em: number;
}

interface Wrapped {
  lines: Line[];
  /** Whether there was more text than maxLines could hold. */
  overflowed: boolean;
}

/** Wraps one text at many widths, measuring each word and grapheme only once. */
class Wrapper {
  private readonly words: readonly string[];
  private readonly widths = new Map<string, number>();
  private readonly spaceEm: number;
  private readonly ellipsisEm: number;

  constructor(
    text: string,
    private readonly measureEm: MeasureEm,
  ) {
    this.words = splitWords(text);
    this.spaceEm = measureEm(' ');
    this.ellipsisEm = measureEm(ELLIPSIS);
  }

  get isEmpty(): boolean {
    return this.words.length === 0;
  }

  wrap(maxEm: number, maxLines: number): Wrapped {
    const lines: Line[] = [];
    let current: Line | null = null;

    for (const word of this.words) {
      const wordEm = this.width(word);
      if (current !== null && current.em + this.spaceEm + wordEm <= maxEm) {
        current = { text: `${current.text} ${word}`, em: current.em + this.spaceEm + wordEm };
        continue;
      }
      if (current !== null) lines.push(current);
      current = null;

      const pieces = wordEm <= maxEm ? [{ text: word, em: wordEm }] : this.breakWord(word, maxEm);
      current = pieces.pop() ?? null;
      lines.push(...pieces);
      // One line more than allowed is enough to know it overflows; wrapping the rest would be wasted work.
      if (lines.length > maxLines) return { lines, overflowed: true };
    }
    if (current !== null) lines.push(current);
    return { lines, overflowed: lines.length > maxLines };
  }

  /** Shortens a line from its end until it and an ellipsis fit within maxEm. */
  ellipsize(line: string, maxEm: number): Line {
    const graphemes = splitGraphemes(line);
    let em = graphemes.reduce((sum, grapheme) => sum + this.width(grapheme), 0);
    while (graphemes.length > 0 && (em + this.ellipsisEm > maxEm || graphemes.at(-1) === ' ')) {
      em -= this.width(graphemes.pop() ?? '');
    }
    return { text: graphemes.join('') + ELLIPSIS, em: em + this.ellipsisEm };
  }

  /** Cuts a word too wide for a line into pieces that fit, between graphemes so no accent or emoji is split. */
  private breakWord(word: string, maxEm: number): Line[] {
    const pieces: Line[] = [];
    let text = '';
    let em = 0;
    for (const grapheme of splitGraphemes(word)) {
      const graphemeEm = this.width(grapheme);
      if (text !== '' && em + graphemeEm > maxEm) {
        pieces.push({ text, em });
        text = '';
        em = 0;
      }
      text += grapheme;
      em += graphemeEm;
    }
    if (text !== '') pieces.push({ text, em });
    return pieces;
  }

  private width(text: string): number {
    let em = this.widths.get(text);
    if (em === undefined) {
      em = this.measureEm(text);
      this.widths.set(text, em);
    }
    return em;
  }
}

function splitWords(text: string): string[] {
  // A string never has fewer UTF-16 units than graphemes, so most prompts skip the segmenting.
  const bounded = text.length > MAX_GRAPHEMES ? splitGraphemes(text).slice(0, MAX_GRAPHEMES).join('') : text;
  return bounded.split(' ').filter((word) => word !== '');
}

function splitGraphemes(text: string): string[] {
  return Array.from(graphemeSegmenter.segment(text), (segment) => segment.segment);
}
