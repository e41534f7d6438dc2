import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { Rgb, ScenePalette } from './scene-palette.js';
import { between, pick, type SceneRandom } from './scene-random.js';

type ShapeKind = 'circle' | 'square' | 'triangle' | 'ring';
const SHAPE_KINDS: readonly [ShapeKind, ...ShapeKind[]] = ['circle', 'square', 'triangle', 'ring'];

// Colour samples per side of the background grid; bilinear stretching makes the gradient between them smooth.
const GRID_CELLS = 8;

/**
 * Paints a gradient with a soft glow and a scatter of translucent shapes, all drawn from the picture's own random
 * stream, so that every prompt and seed gets a picture a teacher can tell apart from its neighbours at a glance.
 */
export function paintBackground(
  context: SKRSContext2D,
  width: number,
  height: number,
  palette: ScenePalette,
  random: SceneRandom,
): void {
  paintGradient(context, width, height, palette, random);

  const shortSide = Math.min(width, height);
  // A long strip gets more shapes, so it is not mostly bare gradient.
  const elongation = Math.min(4, Math.max(width, height) / shortSide);
  const count = Math.round((6 + Math.floor(random() * 5)) * elongation);

  for (let index = 0; index < count; index++) {
    const kind = pick(random, SHAPE_KINDS);
    const colour = palette.shapes[index % palette.shapes.length] ?? 'rgba(255, 255, 255, 0.5)';
    const size = shortSide * between(random, 0.12, 0.45);
    const x = between(random, 0, width);
    const y = between(random, 0, height);
    const rotation = between(random, 0, Math.PI * 2);
    paintShape(context, kind, colour, x, y, size, rotation);
  }
}

/**
 * Computes the gradient on a small grid and stretches it over the canvas. The canvas's own gradients dither,
 * and that noise made the PNG two to eight times larger and slower to compress; stretched samples stay smooth.
 */
function paintGradient(
  context: SKRSContext2D,
  width: number,
  height: number,
  palette: ScenePalette,
  random: SceneRandom,
): void {
  const angle = between(random, 0, Math.PI * 2);
  const directionX = Math.cos(angle);
  const directionY = Math.sin(angle);
  const glowX = between(random, 0.15, 0.85);
  const glowY = between(random, 0.15, 0.85);

  const samples = GRID_CELLS + 1;
  const grid = createCanvas(samples, samples);
  const gridContext = grid.getContext('2d');
  const pixels = gridContext.createImageData(samples, samples);
  for (let row = 0; row < samples; row++) {
    for (let column = 0; column < samples; column++) {
      const u = column / GRID_CELLS;
      const v = row / GRID_CELLS;
      // Position along the gradient's direction, 0 at one corner and 1 at the opposite one.
      const along =
        ((u - 0.5) * directionX + (v - 0.5) * directionY) / (Math.abs(directionX) + Math.abs(directionY)) + 0.5;
      const glow = 0.35 * Math.max(0, 1 - Math.hypot(u - glowX, v - glowY) / 0.75) ** 2;
      const colour = mix(mix(palette.backgroundFrom, palette.backgroundTo, along), WHITE, glow);
      const offset = (row * samples + column) * 4;
      pixels.data[offset] = colour.red;
      pixels.data[offset + 1] = colour.green;
      pixels.data[offset + 2] = colour.blue;
      pixels.data[offset + 3] = 255;
    }
  }
  gridContext.putImageData(pixels, 0, 0);

  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = 'low';
  // From the first sample's centre to the last one's, so the edges are interpolated too rather than clamped flat.
  context.drawImage(grid, 0.5, 0.5, GRID_CELLS, GRID_CELLS, 0, 0, width, height);
}

const WHITE: Rgb = { red: 255, green: 255, blue: 255 };

function mix(from: Rgb, to: Rgb, amount: number): Rgb {
  const t = Math.min(1, Math.max(0, amount));
  return {
    red: Math.round(from.red + (to.red - from.red) * t),
    green: Math.round(from.green + (to.green - from.green) * t),
    blue: Math.round(from.blue + (to.blue - from.blue) * t),
  };
}

function paintShape(
  context: SKRSContext2D,
  kind: ShapeKind,
  colour: string,
  x: number,
  y: number,
  size: number,
  rotation: number,
): void {
  context.save();
  context.translate(x, y);
  context.rotate(rotation);
  context.beginPath();
  const half = size / 2;
  switch (kind) {
    case 'circle':
      context.arc(0, 0, half, 0, Math.PI * 2);
      break;
    case 'square':
      context.roundRect(-half, -half, size, size, size * 0.18);
      break;
    case 'triangle':
      context.moveTo(0, -half);
      context.lineTo(half * 0.94, half * 0.6);
      context.lineTo(-half * 0.94, half * 0.6);
      context.closePath();
      break;
    case 'ring':
      context.arc(0, 0, half * 0.8, 0, Math.PI * 2);
      context.lineWidth = Math.max(1, size * 0.16);
      context.strokeStyle = colour;
      context.stroke();
      context.restore();
      return;
  }
  context.fillStyle = colour;
  context.fill();
  context.restore();
}
