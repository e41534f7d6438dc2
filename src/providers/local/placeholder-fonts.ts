import { createRequire } from 'node:module';
import { GlobalFonts } from '@napi-rs/canvas';

/** The family names under which the placeholder's own fonts are registered with the canvas. */
export interface PlaceholderFonts {
  /** For the prompt: DejaVu Sans, wide coverage of Latin, Greek, Cyrillic and symbols. */
  regular: string;
  /** For the placeholder banner. */
  bold: string;
}

// Names nobody else registers, so an installed "DejaVu Sans" of another version can never stand in for ours and
// change the pixels between machines.
const REGULAR_FAMILY = 'WorksheetPlaceholderSans';
const BOLD_FAMILY = 'WorksheetPlaceholderSansBold';

let registered: PlaceholderFonts | undefined;

/**
 * Registers the fonts shipped in the dejavu-fonts-ttf package, once per process. The fonts come from
 * node_modules, never from fontconfig or the system: the server must draw the same text on a machine
 * that has no fonts installed at all.
 */
export function loadPlaceholderFonts(): PlaceholderFonts {
  if (registered !== undefined) return registered;

  const require = createRequire(import.meta.url);
  registerFont(require, 'dejavu-fonts-ttf/ttf/DejaVuSans.ttf', REGULAR_FAMILY);
  registerFont(require, 'dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf', BOLD_FAMILY);

  registered = { regular: REGULAR_FAMILY, bold: BOLD_FAMILY };
  return registered;
}

function registerFont(require: NodeJS.Require, specifier: string, family: string): void {
  const path = require.resolve(specifier);
  if (GlobalFonts.registerFromPath(path, family) === null) {
    throw new Error(
      `The font file ${path} could not be registered as "${family}"; reinstall the dejavu-fonts-ttf package.`,
    );
  }
}
