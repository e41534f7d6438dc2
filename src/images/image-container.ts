import { sniffImageMimeType } from './image-mime.js';

export interface ImageContainer {
  mimeType: string;
  width: number;
  height: number;
}

/**
 * Whether bytes are a whole image file and not merely something that starts like one: the container's structure is
 * walked (JPEG segments up to the scan, with a frame header giving the size, and the end marker; PNG's chunks from
 * IHDR to IEND, tiling the file exactly; WebP's RIFF size matching the file; GIF's screen size and trailer). Pixel
 * data is not decoded. Answers the type and the size, or undefined.
 */
export function checkImageContainer(bytes: Buffer): ImageContainer | undefined {
  switch (sniffImageMimeType(bytes)) {
    case 'image/jpeg':
      return checkJpeg(bytes);
    case 'image/png':
      return checkPng(bytes);
    case 'image/webp':
      return checkWebp(bytes);
    case 'image/gif':
      return checkGif(bytes);
    default:
      return undefined;
  }
}

/** Start-of-frame markers: every SOFn but DHT (C4), JPG (C8) and DAC (CC). */
const JPEG_FRAMES = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
const JPEG_START_OF_SCAN = 0xda;

function checkJpeg(bytes: Buffer): ImageContainer | undefined {
  if (bytes.length < 4 || bytes[bytes.length - 2] !== 0xff || bytes[bytes.length - 1] !== 0xd9) return undefined;
  let offset = 2;
  let size: { width: number; height: number } | undefined;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return undefined;
    const marker = bytes[offset + 1] as number;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    const length = bytes.readUInt16BE(offset + 2);
    if (length < 2 || offset + 2 + length > bytes.length) return undefined;
    if (JPEG_FRAMES.has(marker)) {
      if (length < 8) return undefined;
      size = { height: bytes.readUInt16BE(offset + 5), width: bytes.readUInt16BE(offset + 7) };
    }
    if (marker === JPEG_START_OF_SCAN) {
      return size && size.width > 0 && size.height > 0 ? { mimeType: 'image/jpeg', ...size } : undefined;
    }
    offset += 2 + length;
  }
  return undefined;
}

const PNG_SIGNATURE_LENGTH = 8;

function checkPng(bytes: Buffer): ImageContainer | undefined {
  let offset = PNG_SIGNATURE_LENGTH;
  let first = true;
  let size: { width: number; height: number } | undefined;
  while (offset + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const end = offset + 12 + length;
    if (end > bytes.length) return undefined;
    if (first) {
      if (type !== 'IHDR' || length !== 13) return undefined;
      size = { width: bytes.readUInt32BE(offset + 8), height: bytes.readUInt32BE(offset + 12) };
      first = false;
    }
    if (type === 'IEND') {
      return end === bytes.length && size && size.width > 0 && size.height > 0
        ? { mimeType: 'image/png', ...size }
        : undefined;
    }
    offset = end;
  }
  return undefined;
}

const WEBP_CHUNKS = new Set(['VP8 ', 'VP8L', 'VP8X']);

function checkWebp(bytes: Buffer): ImageContainer | undefined {
  if (bytes.length < 30) return undefined;
  const riffSize = bytes.readUInt32LE(4);
  // The RIFF size counts everything after itself; a chunk of odd size is padded to an even one.
  if (riffSize + 8 !== bytes.length && riffSize + 9 !== bytes.length) return undefined;
  const chunk = bytes.toString('latin1', 12, 16);
  if (!WEBP_CHUNKS.has(chunk)) return undefined;
  if (chunk === 'VP8X') {
    return { mimeType: 'image/webp', width: bytes.readUIntLE(24, 3) + 1, height: bytes.readUIntLE(27, 3) + 1 };
  }
  if (chunk === 'VP8L') {
    if (bytes[20] !== 0x2f) return undefined;
    const bits = bytes.readUInt32LE(21);
    return { mimeType: 'image/webp', width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  // VP8: a key frame's start code, then 14-bit sizes.
  if (bytes[23] !== 0x9d || bytes[24] !== 0x01 || bytes[25] !== 0x2a) return undefined;
  const width = bytes.readUInt16LE(26) & 0x3fff;
  const height = bytes.readUInt16LE(28) & 0x3fff;
  return width > 0 && height > 0 ? { mimeType: 'image/webp', width, height } : undefined;
}

function checkGif(bytes: Buffer): ImageContainer | undefined {
  if (bytes.length < 14 || bytes[bytes.length - 1] !== 0x3b) return undefined;
  const width = bytes.readUInt16LE(6);
  const height = bytes.readUInt16LE(8);
  return width > 0 && height > 0 ? { mimeType: 'image/gif', width, height } : undefined;
}
