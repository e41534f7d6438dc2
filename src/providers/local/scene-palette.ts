import { between, pick, type SceneRandom } from './scene-random.js';

/** A colour as 0–255 channels. */
export interface Rgb {
  red: number;
  green: number;
  blue: number;
}

/** The colours of one placeholder picture. */
export interface ScenePalette {
  backgroundFrom: Rgb;
  backgroundTo: Rgb;
  /** Translucent CSS fills for the shapes laid over the background. */
  shapes: readonly string[];
}

/** Hue offsets of the classic colour schemes; each gives the picture a different mood at the same base hue. */
const SCHEMES: readonly [readonly number[], ...(readonly number[])[]] = [
  [0, 30, -30, 60], // analogous
  [0, 180, 20, 200], // complementary
  [0, 120, 240, 60], // triadic
  [0, 150, 210, 30], // split complementary
];

/**
 * Bright but soft colours, as in a children's book: the prompt sits on its own light card, so the background
 * never has to carry the text's contrast.
 */
export function pickPalette(random: SceneRandom): ScenePalette {
  const baseHue = between(random, 0, 360);
  const scheme = pick(random, SCHEMES);
  const hues = scheme.map((offset) => baseHue + offset);
  const secondHue = hues[1] ?? baseHue;

  return {
    backgroundFrom: hslToRgb(baseHue, between(random, 55, 75), between(random, 70, 82)),
    backgroundTo: hslToRgb(secondHue, between(random, 55, 75), between(random, 52, 64)),
    shapes: hues.map((hue) => {
      const { red, green, blue } = hslToRgb(
        hue + between(random, -12, 12),
        between(random, 60, 85),
        between(random, 45, 65),
      );
      return `rgba(${red}, ${green}, ${blue}, ${between(random, 0.4, 0.7).toFixed(2)})`;
    }),
  };
}

/** Hue in degrees (any value), saturation and lightness in percent; the CSS formula. */
export function hslToRgb(hue: number, saturation: number, lightness: number): Rgb {
  const s = saturation / 100;
  const l = lightness / 100;
  const channel = (n: number): number => {
    const k = (n + (((hue % 360) + 360) % 360) / 30) % 12;
    const value = l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(value * 255);
  };
  return { red: channel(0), green: channel(8), blue: channel(4) };
}
