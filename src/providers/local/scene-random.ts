import { createHash } from 'node:crypto';

/** A repeatable stream of numbers in [0, 1), one stream per picture. */
export type SceneRandom = () => number;

/**
 * Seeds the stream from the prompt and the seed only, not the size, so one prompt keeps the same colours and
 * shapes whether the worksheet asks for it as a thumbnail or a full page.
 */
export function createSceneRandom(prompt: string, seed: number | null | undefined): SceneRandom {
  // JSON keeps ("a", 1) apart from ("a1", null); an absent seed and null draw the same picture.
  const digest = createHash('sha256')
    .update(JSON.stringify([prompt, seed ?? null]))
    .digest();
  return smallFastCounter(
    digest.readUInt32LE(0),
    digest.readUInt32LE(4),
    digest.readUInt32LE(8),
    digest.readUInt32LE(12),
  );
}

/** sfc32: tiny, fast, and the same sequence on every platform, unlike Math.random. */
function smallFastCounter(a: number, b: number, c: number, d: number): SceneRandom {
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** A number in [min, max). */
export function between(random: SceneRandom, min: number, max: number): number {
  return min + random() * (max - min);
}

/** One of the items, picked by the stream. */
export function pick<T>(random: SceneRandom, items: readonly [T, ...T[]]): T {
  return items[Math.floor(random() * items.length)] ?? items[0];
}
