import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sniffImageMimeType } from '../images/image-mime.js';
import { mapElements, type Worksheet, type WorksheetPlaceholder } from '../worksheet/worksheet.js';
import { CliFailure } from './exit-codes.js';

export interface WrittenOutput {
  /** The image files written, by name inside the output directory, in placeholder order. */
  images: string[];
  /** The path of the worksheet.json written. */
  worksheetPath: string;
}

const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
};

/**
 * Writes one file per placeholder that got a picture, `<page>-<element>.<ext>`, and worksheet.json beside them.
 * Unless `embed` is set, each of those placeholders' `src` becomes the file's name (relative to worksheet.json)
 * instead of the data URL.
 */
export async function writeOutput(options: {
  outDir: string;
  /** The placeholders that were sent, as collected from the input worksheet. */
  placeholders: readonly WorksheetPlaceholder[];
  /** The worksheet with data URLs on its placeholders. */
  illustrated: Worksheet;
  embed: boolean;
}): Promise<WrittenOutput> {
  const { outDir, placeholders, illustrated, embed } = options;
  await prepareOutputDirectory(outDir);

  const fileNames = new Map<string, string>();
  for (const placeholder of placeholders) {
    const src = illustrated.pages[placeholder.pageIndex]?.elements[placeholder.elementIndex]?.src;
    if (typeof src !== 'string') continue;
    const image = decodeDataUrl(src);
    if (!image) continue;
    const fileName = `${placeholder.id}.${extensionFor(image.mimeType, image.bytes)}`;
    await writeOrFail(join(outDir, fileName), image.bytes);
    fileNames.set(placeholder.id, fileName);
  }

  const worksheet = embed ? illustrated : withFileReferences(illustrated, fileNames);
  const worksheetPath = join(outDir, 'worksheet.json');
  await writeOrFail(worksheetPath, `${JSON.stringify(worksheet, null, 2)}\n`);
  return { images: [...fileNames.values()], worksheetPath };
}

/** Creates the output directory when missing; called before generating too, so a bad --out costs no images. */
export async function prepareOutputDirectory(outDir: string): Promise<void> {
  try {
    await mkdir(outDir, { recursive: true });
  } catch (error) {
    throw new CliFailure(`cannot create the output directory ${outDir}: ${describe(error)}`, { cause: error });
  }
}

/** The bytes and MIME type of a base64 data URL; null for anything else. */
export function decodeDataUrl(url: string): { mimeType: string; bytes: Buffer } | null {
  const match = /^data:([^;,]+)(?:;[^;,]*)*;base64,/i.exec(url);
  if (!match?.[1]) return null;
  return { mimeType: match[1].toLowerCase(), bytes: Buffer.from(url.slice(match[0].length), 'base64') };
}

/** The extension for a MIME type; a type we do not know is looked up from the bytes' signature. */
export function extensionFor(mimeType: string, bytes: Uint8Array): string {
  return EXTENSIONS[mimeType] ?? EXTENSIONS[sniffImageMimeType(bytes) ?? ''] ?? 'bin';
}

function withFileReferences(worksheet: Worksheet, fileNames: ReadonlyMap<string, string>): Worksheet {
  return mapElements(worksheet, (element, id) => {
    const fileName = fileNames.get(id);
    return fileName ? { ...element, src: fileName } : element;
  });
}

async function writeOrFail(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (error) {
    throw new CliFailure(`cannot write ${path}: ${describe(error)}`, { cause: error });
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'a file is in the way';
  if (code === 'ENOSPC') return 'no space left on the device';
  return error instanceof Error ? error.message : String(error);
}
