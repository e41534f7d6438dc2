import { createCanvas, GlobalFonts, loadImage } from '@napi-rs/canvas';
import { describe, expect, it, vi } from 'vitest';
import { createLocalProvider } from '../src/providers/local/index.js';
import { fitText, toDisplayText, type TextBox } from '../src/providers/local/text-layout.js';
import { ProviderError } from '../src/providers/provider-error.js';
import type { ProviderRequest } from '../src/providers/types.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const ELEPHANT = 'A friendly cartoon elephant counting apples';

const provider = createLocalProvider();

function draw(request: Partial<ProviderRequest> = {}, signal: AbortSignal = new AbortController().signal) {
  return provider.generate({ prompt: ELEPHANT, width: 512, height: 512, seed: 1, ...request }, signal);
}

/** Width and height as the PNG's own header states them, read straight from the bytes. */
function readPngHeader(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(bytes.readUInt32BE(8)).toBe(13);
  expect(bytes.toString('ascii', 12, 16)).toBe('IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** Decodes with the canvas's PNG decoder, which checks every chunk, and returns the RGBA pixels. */
async function decode(bytes: Buffer): Promise<{ width: number; height: number; pixels: Uint8ClampedArray }> {
  const image = await loadImage(bytes);
  const canvas = createCanvas(image.width, image.height);
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  return {
    width: image.width,
    height: image.height,
    pixels: context.getImageData(0, 0, image.width, image.height).data,
  };
}

/** Mean difference per colour channel, 0 to 255. */
function meanDifference(first: Uint8ClampedArray, second: Uint8ClampedArray): number {
  let total = 0;
  for (let index = 0; index < first.length; index++) {
    if (index % 4 !== 3) total += Math.abs((first[index] ?? 0) - (second[index] ?? 0));
  }
  return total / ((first.length / 4) * 3);
}

/** The share of pixels in rows top to bottom whose luminance (0 to 255) passes the test. */
function shareOfRows(
  picture: { pixels: Uint8ClampedArray; width: number },
  top: number,
  bottom: number,
  test: (luminance: number) => boolean,
): number {
  let passing = 0;
  for (let row = top; row < bottom; row++) {
    for (let column = 0; column < picture.width; column++) {
      const offset = (row * picture.width + column) * 4;
      const { pixels } = picture;
      const luminance =
        0.2126 * (pixels[offset] ?? 0) + 0.7152 * (pixels[offset + 1] ?? 0) + 0.0722 * (pixels[offset + 2] ?? 0);
      if (test(luminance)) passing++;
    }
  }
  return passing / ((bottom - top) * picture.width);
}

describe('the local provider', () => {
  it('is the provider named local and says its pictures are placeholders', () => {
    expect(provider.name).toBe('local');
    expect(provider.placeholder).toBe(true);
  });

  it.each([
    [512, 512],
    [1024, 768],
    [768, 1024],
    [1792, 1792],
    [64, 64],
    [16, 16],
    [64, 1792],
    [1792, 64],
  ])('draws a PNG of exactly %i x %i', async (width, height) => {
    const image = await draw({ width, height });

    expect(image.mimeType).toBe('image/png');
    expect(readPngHeader(image.bytes)).toEqual({ width, height });
    const decoded = await decode(image.bytes);
    expect({ width: decoded.width, height: decoded.height }).toEqual({ width, height });
  });

  it('draws the same bytes again for the same prompt, seed and size', async () => {
    const first = await draw({ seed: 42 });
    const second = await createLocalProvider().generate(
      { prompt: ELEPHANT, width: 512, height: 512, seed: 42 },
      new AbortController().signal,
    );

    expect(second.bytes.equals(first.bytes)).toBe(true);
  });

  it('treats a missing seed like a null one', async () => {
    const missing = await provider.generate(
      { prompt: ELEPHANT, width: 256, height: 256 },
      new AbortController().signal,
    );
    const nullSeed = await draw({ width: 256, height: 256, seed: null });

    expect(missing.bytes.equals(nullSeed.bytes)).toBe(true);
  });

  it('draws a visibly different picture for a different seed', async () => {
    const first = await decode((await draw({ seed: 1 })).bytes);
    const second = await decode((await draw({ seed: 2 })).bytes);

    expect(meanDifference(first.pixels, second.pixels)).toBeGreaterThan(10);
  });

  it('draws a visibly different picture for a different prompt', async () => {
    const elephant = await decode((await draw()).bytes);
    const giraffe = await decode((await draw({ prompt: 'A tall giraffe reading a book' })).bytes);

    expect(meanDifference(elephant.pixels, giraffe.pixels)).toBeGreaterThan(10);
  });

  it('marks the top of the picture with a dark placeholder banner and writes the prompt on a light card', async () => {
    const picture = await decode((await draw()).bytes);
    const middle = Math.round(picture.height / 2);

    expect(shareOfRows(picture, 4, 30, (luminance) => luminance < 60)).toBeGreaterThan(0.6);
    expect(shareOfRows(picture, middle - 60, middle + 60, (luminance) => luminance > 200)).toBeGreaterThan(0.5);
    expect(shareOfRows(picture, middle - 60, middle + 60, (luminance) => luminance < 80)).toBeGreaterThan(0.03);
  });

  it('draws a prompt of 2,000 characters', async () => {
    const prompt = 'Draw the water cycle with clouds, rain, rivers and the sea. '.repeat(34).slice(0, 2000);
    const image = await draw({ prompt });

    expect(readPngHeader(image.bytes)).toEqual({ width: 512, height: 512 });
  });

  it('draws a 2,000-character prompt on the smallest and the narrowest canvas', async () => {
    const prompt = 'x'.repeat(2000);
    for (const [width, height] of [
      [64, 64],
      [64, 1792],
      [1792, 64],
    ] as const) {
      expect(readPngHeader((await draw({ prompt, width, height })).bytes)).toEqual({ width, height });
    }
  });

  it.each([
    ['accents', 'Crème brûlée for the naïve señor in Zürich'],
    ['emoji', 'A happy 🐘 counting 🍎🍎🍎 with 👩‍👩‍👧 family'],
    ['CJK', '大象数苹果 ぞうがりんごをかぞえる 코끼리'],
    ['right-to-left and combining marks', 'فيل يعد التفاح ẞ Å̈ a\u0301'],
    ['a lone surrogate and control characters', 'broken \uD83D half\u0000 and\ttabs\nnewlines'],
    ['only whitespace', '   \n\t '],
  ])('draws a prompt with %s without failing', async (_kind, prompt) => {
    const image = await draw({ prompt, width: 320, height: 240 });

    expect(readPngHeader(image.bytes)).toEqual({ width: 320, height: 240 });
  });

  it('rejects with CANCELLED, not retryable, when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();

    const attempt = draw({}, controller.signal);

    await expect(attempt).rejects.toBeInstanceOf(ProviderError);
    await expect(attempt).rejects.toMatchObject({ code: 'CANCELLED', retryable: false, reason: 'cancelled' });
  });

  it('rejects with CANCELLED when the signal is aborted while the picture is being drawn', async () => {
    const controller = new AbortController();

    const attempt = draw({ width: 1024, height: 1024 }, controller.signal);
    controller.abort();

    await expect(attempt).rejects.toMatchObject({ code: 'CANCELLED', retryable: false, reason: 'cancelled' });
  });

  it.each([
    [0, 512],
    [512, -16],
    [12.5, 512],
    [8192, 512],
    [Number.NaN, 512],
  ])('rejects a size of %s x %s as INVALID_REQUEST instead of allocating it', async (width, height) => {
    await expect(draw({ width, height })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      retryable: false,
      reason: 'invalid_size',
    });
  });

  it('writes a banner of its own wording when given one', async () => {
    const custom = createLocalProvider({ bannerText: 'DRAFT · not the final picture' });
    const image = await custom.generate(
      { prompt: ELEPHANT, width: 512, height: 512, seed: 1 },
      new AbortController().signal,
    );

    expect(image.bytes.equals((await draw()).bytes)).toBe(false);
  });

  it('refuses an empty banner wording', () => {
    expect(() => createLocalProvider({ bannerText: '  ' })).toThrow(TypeError);
  });

  it('registers its fonts once, however many providers and pictures there are', async () => {
    vi.resetModules();
    const registerFromPath = vi.spyOn(GlobalFonts, 'registerFromPath');
    try {
      const { createLocalProvider: createFresh } = await import('../src/providers/local/index.js');
      const first = createFresh();
      const second = createFresh();
      await first.generate({ prompt: ELEPHANT, width: 128, height: 128 }, new AbortController().signal);
      await second.generate({ prompt: ELEPHANT, width: 128, height: 128 }, new AbortController().signal);

      expect(registerFromPath).toHaveBeenCalledTimes(2);
    } finally {
      registerFromPath.mockRestore();
    }
  });

  it('closes without error', async () => {
    await expect(createLocalProvider().close()).resolves.toBeUndefined();
  });
});

describe('fitting the prompt into its box', () => {
  // Every character half an em wide: a line of 20 characters at 10 px is 100 px.
  const halfEm = (text: string) => [...text].length * 0.5;
  const box: TextBox = { maxWidth: 100, maxHeight: 60, minFontSize: 8, maxFontSize: 40, lineHeight: 1.25 };

  it('uses the largest font size at which the whole text fits', () => {
    const layout = fitText('one two three', box, halfEm);

    expect(layout).not.toBeNull();
    expect(layout?.truncated).toBe(false);
    expect(layout?.lines.join(' ')).toBe('one two three');
    expect((layout?.height ?? Infinity) <= box.maxHeight).toBe(true);
    // One size larger must no longer fit.
    const larger = fitText('one two three', { ...box, minFontSize: (layout?.fontSize ?? 0) + 1 }, halfEm);
    expect(larger?.truncated).toBe(true);
  });

  it('wraps at spaces and keeps every line within the width', () => {
    const layout = fitText('the quick brown fox jumps over the lazy dog', { ...box, maxFontSize: 10 }, halfEm);

    expect(layout?.fontSize).toBe(10);
    expect(layout?.lines).toEqual(['the quick brown fox', 'jumps over the lazy', 'dog']);
  });

  it('breaks a word longer than a line between graphemes', () => {
    const layout = fitText('abcdefghijklmnopqrstuvwxyz', { ...box, maxFontSize: 10 }, halfEm);

    expect(layout?.lines).toEqual(['abcdefghijklmnopqrst', 'uvwxyz']);
  });

  it('cuts a text too long for the smallest size and ends it with an ellipsis', () => {
    const layout = fitText('word '.repeat(400), box, halfEm);

    expect(layout?.fontSize).toBe(8);
    expect(layout?.truncated).toBe(true);
    expect(layout?.lines).toHaveLength(6);
    expect(layout?.lines.at(-1)?.endsWith('…')).toBe(true);
    for (const line of layout?.lines ?? []) expect(halfEm(line) * 8).toBeLessThanOrEqual(box.maxWidth);
  });

  it('gives up when not even one line fits, or there is nothing to write', () => {
    expect(fitText('hello', { ...box, maxHeight: 5 }, halfEm)).toBeNull();
    expect(fitText('', box, halfEm)).toBeNull();
  });

  it('tidies whitespace and control characters and replaces lone surrogates', () => {
    expect(toDisplayText('  a\n\tb\u0000c \uD83D ')).toBe('a bc \uFFFD');
  });
});
