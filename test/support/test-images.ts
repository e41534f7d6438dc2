/**
 * Small, truly decodable image fixtures built in code, so tests never depend on binary files in the repository.
 * Every function returns a fresh Buffer: callers may mutate what they get without spoiling other tests.
 */
import { createHash, randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

export const JPEG_SIGNATURE: readonly number[] = [0xff, 0xd8, 0xff];
export const PNG_SIGNATURE: readonly number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

// A 1x1 lossless WebP (the well-known feature-detection image); it decodes with libwebp's dwebp.
const TINY_WEBP_BASE64 = 'UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==';

export function isJpeg(bytes: Uint8Array): boolean {
  return JPEG_SIGNATURE.every((byte, index) => bytes[index] === byte);
}

export function isPng(bytes: Uint8Array): boolean {
  return PNG_SIGNATURE.every((byte, index) => bytes[index] === byte);
}

export function isWebp(bytes: Uint8Array): boolean {
  const ascii = (start: number, end: number): string => Buffer.from(bytes.subarray(start, end)).toString('latin1');
  return bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP';
}

export function tinyWebp(): Buffer {
  return Buffer.from(TINY_WEBP_BASE64, 'base64');
}

/**
 * A valid 8x8 grey baseline JPEG. With a label, the grey level and a comment segment derive from the label's hash,
 * so distinct labels give distinct bytes (and usually distinct pixels) while the same label gives the same bytes.
 */
export function tinyJpeg(label?: string): Buffer {
  const digest = label === undefined ? undefined : hashOf(label);
  const grey = digest === undefined ? 128 : (digest[0] ?? 128);
  const comment = digest === undefined ? [] : [commentSegment(Buffer.from(`fake-together:${digest.toString('hex')}`))];
  return Buffer.concat([SOI, JFIF_APP0, ...comment, ...jpegImageSegments(grey)]);
}

/**
 * A valid JPEG of exactly `byteLength` bytes whose bulk is random, so it does not compress: benchmarks use it to
 * stand in for a real ~1.5 MB generation. The random bytes sit in comment segments, which decoders skip.
 */
export function randomJpegOfSize(byteLength: number): Buffer {
  const head = Buffer.concat([SOI, JFIF_APP0]);
  const tail = Buffer.concat(jpegImageSegments(128));
  const minimum = head.length + tail.length;
  let fill = byteLength - minimum;
  if (!Number.isInteger(byteLength) || fill < 0 || (fill > 0 && fill < COMMENT_OVERHEAD)) {
    throw new RangeError(
      `byteLength must be an integer of at least ${minimum + COMMENT_OVERHEAD} (or exactly ${minimum}), ` +
        `got ${byteLength}`,
    );
  }
  const comments: Buffer[] = [];
  while (fill > 0) {
    let segmentLength = Math.min(fill, COMMENT_OVERHEAD + MAX_COMMENT_PAYLOAD);
    // Never leave a remainder too small to hold a segment of its own.
    if (fill - segmentLength > 0 && fill - segmentLength < COMMENT_OVERHEAD) segmentLength -= COMMENT_OVERHEAD;
    comments.push(commentSegment(randomBytes(segmentLength - COMMENT_OVERHEAD)));
    fill -= segmentLength;
  }
  return Buffer.concat([head, ...comments, tail]);
}

/** A valid 1x1 RGB PNG whose colour and text chunk derive from the label's hash, as for tinyJpeg. */
export function tinyPng(label?: string): Buffer {
  const digest = label === undefined ? Buffer.from([0x4a, 0x7b, 0xd0]) : hashOf(label);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0); // width
  header.writeUInt32BE(1, 4); // height
  header.writeUInt8(8, 8); // bit depth
  header.writeUInt8(2, 9); // colour type: truecolour
  const scanline = Buffer.from([0, digest[0] ?? 0, digest[1] ?? 0, digest[2] ?? 0]); // filter byte, then RGB
  const comment = Buffer.from(`Comment\0fake-together:${digest.toString('hex')}`, 'latin1');
  const text = label === undefined ? [] : [pngChunk('tEXt', comment)];
  return Buffer.concat([
    Buffer.from(PNG_SIGNATURE),
    pngChunk('IHDR', header),
    ...text,
    pngChunk('IDAT', deflateSync(scanline)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function hashOf(label: string): Buffer {
  return createHash('sha256').update(label).digest();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

// ---- The JPEG writer: one 8x8 greyscale block, DC coefficient only, quantisation 1, baseline Huffman coding. ----

const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);
const JFIF_APP0 = Buffer.from([
  0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
]);
const COMMENT_OVERHEAD = 4; // marker (2) + length field (2)
const MAX_COMMENT_PAYLOAD = 0xffff - 2; // the length field counts itself

// The luminance DC table of ITU T.81 Annex K.3: code-length counts for lengths 1..16, then the categories 0..11.
const DC_CODE_COUNTS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_SYMBOLS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
// The AC table needs only end-of-block, which gets the one-bit code 0.
const AC_CODE_COUNTS = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const AC_SYMBOLS = [0x00];

function commentSegment(payload: Buffer): Buffer {
  const header = Buffer.from([0xff, 0xfe, 0, 0]);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([header, payload]);
}

function segment(marker: number, payload: number[]): Buffer {
  const length = payload.length + 2;
  return Buffer.from([0xff, marker, length >> 8, length & 0xff, ...payload]);
}

function jpegImageSegments(grey: number): Buffer[] {
  const quantisation = segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]);
  const frame = segment(0xc0, [8, 0, 8, 0, 8, 1, 1, 0x11, 0]); // 8-bit, 8x8, one component, 1x1 sampling, table 0
  const huffman = segment(0xc4, [0x00, ...DC_CODE_COUNTS, ...DC_SYMBOLS, 0x10, ...AC_CODE_COUNTS, ...AC_SYMBOLS]);
  const scan = segment(0xda, [1, 1, 0x00, 0, 63, 0]);
  return [quantisation, frame, huffman, scan, entropyCodedBlock(grey), EOI];
}

function entropyCodedBlock(grey: number): Buffer {
  // For a flat block the forward DCT gives DC = 8 * (level - 128) and every AC coefficient is zero.
  const dc = 8 * (Math.max(0, Math.min(255, Math.round(grey))) - 128);
  const magnitude = Math.abs(dc);
  const category = magnitude === 0 ? 0 : Math.floor(Math.log2(magnitude)) + 1;
  const dcCode = canonicalCodes(DC_CODE_COUNTS, DC_SYMBOLS).get(category);
  const eobCode = canonicalCodes(AC_CODE_COUNTS, AC_SYMBOLS).get(0x00);
  if (dcCode === undefined || eobCode === undefined) throw new Error(`no Huffman code for DC category ${category}`);
  // Negative values are sent as the low bits of (value - 1), per T.81 F.1.2.1.
  const extra = dc >= 0 ? dc : dc - 1;
  const bits = [...dcCode, ...bitsOf(extra, category), ...eobCode];
  while (bits.length % 8 !== 0) bits.push(1); // pad with one-bits
  const bytes: number[] = [];
  for (let offset = 0; offset < bits.length; offset += 8) {
    const byte = bits.slice(offset, offset + 8).reduce((value, bit) => (value << 1) | bit, 0);
    bytes.push(byte);
    if (byte === 0xff) bytes.push(0x00); // byte stuffing
  }
  return Buffer.from(bytes);
}

function bitsOf(value: number, count: number): number[] {
  const bits: number[] = [];
  for (let shift = count - 1; shift >= 0; shift -= 1) bits.push((value >> shift) & 1);
  return bits;
}

function canonicalCodes(counts: number[], symbols: number[]): Map<number, number[]> {
  const codes = new Map<number, number[]>();
  let code = 0;
  let symbolIndex = 0;
  counts.forEach((count, lengthIndex) => {
    for (let i = 0; i < count; i += 1) {
      const symbol = symbols[symbolIndex];
      if (symbol !== undefined) codes.set(symbol, bitsOf(code, lengthIndex + 1));
      code += 1;
      symbolIndex += 1;
    }
    code <<= 1;
  });
  return codes;
}
