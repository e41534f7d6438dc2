import { describe, expect, it } from 'vitest';
import { checkImageContainer } from '../src/images/image-container.js';
import { createImageHostCheck } from '../src/providers/image-hosts.js';
import { createKeyScrubber } from '../src/providers/scrub-key.js';
import { randomJpegOfSize, tinyJpeg, tinyPng, tinyWebp } from './support/test-images.js';

describe('an image is accepted only when its whole container checks out', () => {
  it.each([
    ['JPEG', tinyJpeg('a'), { mimeType: 'image/jpeg', width: 8, height: 8 }],
    ['a large JPEG', randomJpegOfSize(300_000), { mimeType: 'image/jpeg', width: 8, height: 8 }],
    ['PNG', tinyPng('a'), { mimeType: 'image/png', width: 1, height: 1 }],
    ['WebP', tinyWebp(), { mimeType: 'image/webp', width: 1, height: 1 }],
  ])('%s', (_name, bytes, expected) => {
    expect(checkImageContainer(bytes)).toEqual(expected);
  });

  const jpeg = tinyJpeg('b');
  const png = tinyPng('b');
  const webp = tinyWebp();
  it.each([
    ['a JPEG signature and nothing else', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3])],
    ['a JPEG without its end marker', jpeg.subarray(0, jpeg.length - 2)],
    ['a JPEG cut in a segment', Buffer.concat([jpeg.subarray(0, 30), Buffer.from([0xff, 0xd9])])],
    [
      'a JPEG whose frame header is gone',
      Buffer.from(jpeg.toString('latin1').replace('\xff\xc0', '\xff\xfe'), 'latin1'),
    ],
    ['a PNG without IEND', png.subarray(0, png.length - 12)],
    ['a PNG with bytes after IEND', Buffer.concat([png, Buffer.from('trailing')])],
    [
      'a PNG whose first chunk is not IHDR',
      Buffer.concat([png.subarray(0, 12), Buffer.from('IDAT'), png.subarray(16)]),
    ],
    ['a WebP whose RIFF size is wrong', Buffer.concat([webp, Buffer.alloc(100)])],
    ['a WebP cut short', webp.subarray(0, 20)],
    ['HTML', Buffer.from('<html>not an image</html>')],
  ])('refuses %s', (_name, bytes) => {
    expect(checkImageContainer(bytes)).toBeUndefined();
  });
});

describe('image URLs from the upstream', () => {
  const allowed = createImageHostCheck(['api.together.ai', '*.together.xyz', 'http://127.0.0.1:8080']);
  it.each([
    ['https://api.together.ai/imgproxy/abc', true],
    ['https://cdn.together.xyz/a.jpg', true],
    ['http://127.0.0.1:8080/a.jpg', true],
    ['http://api.together.ai/a.jpg', false],
    ['https://api.together.ai:8443/a.jpg', false],
    ['https://together.xyz/a.jpg', false],
    ['https://evil-together.xyz/a.jpg', false],
    ['https://api.together.ai.evil.example/a.jpg', false],
    ['http://127.0.0.1:8081/a.jpg', false],
    ['https://127.0.0.1:8080/a.jpg', false],
    ['https://user:pw@api.together.ai/a.jpg', false],
    ['file:///etc/passwd', false],
    ['not a url', false],
  ])('%s allowed: %s', (url, expected) => {
    expect(allowed(url)).toBe(expected);
  });
});

describe('the key scrubber for upstream text in logs', () => {
  const key = 'tgp_v1_Secret0123456789abcdefGHIJ';
  const scrub = createKeyScrubber(key);
  it.each([
    ['whole', `key ${key} refused`],
    ['in pieces', `key ${key.slice(0, 11)}... and ${key.slice(15, 27)}`],
    ['reversed', `yek ${[...key].reverse().join('')}`],
    ['in base64', `b64 ${Buffer.from(key).toString('base64')}`],
    ['in hex', `hex ${Buffer.from(key).toString('hex')}`],
    ['glued to other words', `password=${key.slice(3, 20)}&x=1`],
  ])('removes the key %s', (_name, text) => {
    const scrubbed = scrub(text);
    expect(scrubbed).toContain('[REDACTED]');
    for (let start = 0; start + 8 <= key.length; start += 1)
      expect(scrubbed).not.toContain(key.slice(start, start + 8));
  });

  it('leaves ordinary words alone', () => {
    expect(scrub('The prompt was flagged by the safety checker.')).toBe(
      'The prompt was flagged by the safety checker.',
    );
  });
});
