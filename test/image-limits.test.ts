import { describe, expect, it } from 'vitest';
import { imageBatchSchema, roundSide, type ImageLimits } from '../src/generation/image-limits.js';
import { InvalidInputError } from '../src/generation/input-error.js';
import { sniffImageMimeType, toDataUrl } from '../src/images/image-mime.js';

const limits: ImageLimits = { minSide: 64, maxSide: 1792, maxPromptLength: 100, maxBatchSize: 3 };
const image = (overrides: Record<string, unknown> = {}) => ({
  id: 'a',
  prompt: 'a cat',
  width: 512,
  height: 512,
  ...overrides,
});
const issues = (images: unknown) => {
  const parsed = imageBatchSchema(limits).safeParse(images);
  return parsed.success ? [] : InvalidInputError.fromZod(parsed.error, 'images').issues;
};

describe('image sizes', () => {
  it('rounds a side to the nearest multiple of 16', () => {
    expect(roundSide(500, limits)).toBe(496);
    expect(roundSide(504, limits)).toBe(512);
    expect(roundSide(1000, limits)).toBe(1008);
    expect(roundSide(64, limits)).toBe(64);
    expect(roundSide(1792, limits)).toBe(1792);
  });
  it('keeps a rounded side inside bounds that are not multiples of 16', () => {
    expect(roundSide(100, { minSide: 100, maxSide: 200 })).toBe(112);
    expect(roundSide(200, { minSide: 100, maxSide: 200 })).toBe(192);
  });
});

describe('batch validation', () => {
  it('accepts a good batch', () => {
    expect(issues([image(), image({ id: 'b', seed: 7 })])).toEqual([]);
  });
  it.each([
    [[image({ prompt: '' })], 'images[0].prompt', /must not be empty or blank/],
    [[image({ prompt: '   ' })], 'images[0].prompt', /must not be empty or blank/],
    [[image({ prompt: 'x'.repeat(101) })], 'images[0].prompt', /at most 100 characters/],
    [[image({ prompt: 'bell\u0007' })], 'images[0].prompt', /control characters/],
    [[image({ width: 63 })], 'images[0].width', /at least 64 pixels/],
    [[image({ height: 1793 })], 'images[0].height', /at most 1792 pixels/],
    [[image({ width: 100.5 })], 'images[0].width', /whole number/],
    [[image(), image()], 'images[1].id', /used twice/],
    [[image({ id: ' ' })], 'images[0].id', /must not be blank/],
    [[image({ seed: -1 })], 'images[0].seed', /at least 0/],
    [[], 'images', /at least 1 image/],
    [[image({ id: '1' }), image({ id: '2' }), image({ id: '3' }), image({ id: '4' })], 'images', /at most 3 images/],
  ])('names the field and the limit (%#)', (batch, field, message) => {
    const found = issues(batch);
    expect(found.map((issue) => issue.field)).toContain(field);
    expect(found.find((issue) => issue.field === field)?.message).toMatch(message);
  });
});

describe('image MIME types', () => {
  it('labels bytes by their signature', () => {
    expect(sniffImageMimeType(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffImageMimeType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('image/png');
    expect(sniffImageMimeType(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
    expect(sniffImageMimeType(Buffer.from('GIF89a'))).toBe('image/gif');
    expect(sniffImageMimeType(Buffer.from('<html>'))).toBeUndefined();
  });
  it('makes a data URL with the sniffed type', () => {
    expect(toDataUrl({ mimeType: 'image/png', bytes: Buffer.from([1, 2, 3]) })).toBe('data:image/png;base64,AQID');
  });
});
