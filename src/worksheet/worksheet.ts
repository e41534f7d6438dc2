/**
 * A worksheet as the teacher's editor stores it: pages of elements, some of which are picture placeholders.
 * Elements keep every field the editor gave them; only `src` and `imageError` are written back.
 *
 * This module is plain TypeScript, without zod, because the typed client (and so every front end's bundle) uses it;
 * worksheet-schema.ts is the zod schema of the same shape, for the callers that validate a worksheet from outside.
 */

/** Why a picture could not be made. */
export interface WorksheetImageError {
  code: string;
  message: string;
  retryable: boolean;
}

/** A picture placeholder. */
export interface WorksheetImageElement {
  type: 'image';
  prompt: string;
  width: number;
  height: number;
  seed?: number | null | undefined;
  /** The picture once generated: a data URL. A placeholder that already has one is left alone. */
  src?: string | null | undefined;
  /** Why the picture could not be made, when it could not. */
  imageError?: WorksheetImageError | null | undefined;
  [field: string]: unknown;
}

/** Any element: text, shapes, pictures; only `type` is known to this project. */
export interface WorksheetElement {
  type: string;
  [field: string]: unknown;
}

export interface WorksheetPage {
  elements: Array<WorksheetImageElement | WorksheetElement>;
  [field: string]: unknown;
}

export interface Worksheet {
  title?: string | undefined;
  pages: WorksheetPage[];
  [field: string]: unknown;
}

export interface WorksheetPlaceholder {
  /** "<page>-<element>", e.g. "0-1" = page 0, element 1. */
  id: string;
  pageIndex: number;
  elementIndex: number;
  prompt: string;
  width: number;
  height: number;
  seed?: number | null;
}

/** What a generation produced for one placeholder, in the shape both the server and the client have at hand. */
export interface PlaceholderOutcome {
  id: string;
  /** A data URL, or null when the image failed or was cancelled. */
  src: string | null;
  error: WorksheetImageError | null;
}

/**
 * Whether the element is a well-formed picture element: the same rules as worksheetImageElementSchema (a test holds
 * the two together), checked by hand so that the client needs no schema library.
 */
export function isImageElement(element: unknown): element is WorksheetImageElement {
  if (!isRecord(element) || element.type !== 'image') return false;
  const { prompt, width, height, seed, src, imageError } = element;
  return (
    typeof prompt === 'string' &&
    Number.isFinite(width) &&
    Number.isFinite(height) &&
    (seed == null || Number.isSafeInteger(seed)) &&
    (src == null || typeof src === 'string') &&
    (imageError == null ||
      (isRecord(imageError) &&
        typeof imageError.code === 'string' &&
        typeof imageError.message === 'string' &&
        typeof imageError.retryable === 'boolean'))
  );
}

/** A picture element that still needs its picture: no `src` yet, and a prompt to draw. */
export function isImagePlaceholder(element: unknown): element is WorksheetImageElement {
  return isImageElement(element) && !element.src && element.prompt.trim().length > 0;
}

/** Every picture placeholder that still needs an image, in page and element order. */
export function collectPlaceholders(worksheet: Worksheet): WorksheetPlaceholder[] {
  // Callers in plain JavaScript get a clear error rather than "cannot read properties of undefined".
  if (!isRecord(worksheet) || !Array.isArray(worksheet.pages)) {
    throw new TypeError('Expected a worksheet: {"pages": [{"elements": [...]}]}');
  }
  const placeholders: WorksheetPlaceholder[] = [];
  worksheet.pages.forEach((page, pageIndex) => {
    if (!isRecord(page) || !Array.isArray(page.elements)) {
      throw new TypeError(`Expected \`pages[${pageIndex}].elements\` of the worksheet to be an array`);
    }
    page.elements.forEach((element, elementIndex) => {
      if (!isImagePlaceholder(element)) return;
      placeholders.push({
        id: `${pageIndex}-${elementIndex}`,
        pageIndex,
        elementIndex,
        prompt: element.prompt,
        width: element.width,
        height: element.height,
        seed: element.seed ?? null,
      });
    });
  });
  return placeholders;
}

/** What a placeholder looks like, for messages that must show one. */
export const PLACEHOLDER_EXAMPLE = '{ "type": "image", "prompt": "Three red apples", "width": 512, "height": 384 }';

/**
 * Why a worksheet with no placeholder to fill has none, in a sentence or two that ends with what a placeholder looks
 * like: elements that look meant as one (an image-like `type`, or a `prompt`) are named with what keeps them out.
 */
export function explainNoPlaceholders(worksheet: Worksheet): string {
  const elements = worksheet.pages.flatMap((page, pageIndex) =>
    page.elements.map((element, elementIndex) => ({ element, id: `${pageIndex}-${elementIndex}` })),
  );
  const reasons: string[] = [];
  let filled = 0;
  for (const { element, id } of elements) {
    const fields = element as Record<string, unknown>;
    if (element.type === 'image') {
      if (fields.src) filled += 1;
      else reasons.push(`${id} has "type": "image" but ${describeImageProblem(fields)}`);
    } else if (/image|picture|illustration|photo/i.test(element.type) || 'prompt' in fields) {
      reasons.push(`${id} has "type": ${JSON.stringify(element.type)}, which is not "image"`);
    }
  }
  const found =
    elements.length === 0
      ? 'The worksheet has no elements.'
      : filled > 0 && reasons.length === 0
        ? `Every picture placeholder already has its picture ("src"): ${filled} of them.`
        : reasons.length > 0
          ? `No element is a picture placeholder the server recognises: ${reasons.slice(0, 5).join('; ')}${reasons.length > 5 ? `; and ${reasons.length - 5} more` : ''}.`
          : `None of its ${elements.length} elements is a picture placeholder.`;
  return `${found} A placeholder is an element like ${PLACEHOLDER_EXAMPLE} (an optional integer "seed"; no "src" yet).`;
}

function describeImageProblem(fields: Record<string, unknown>): string {
  if (typeof fields.prompt !== 'string' || fields.prompt.trim() === '') return 'no non-blank "prompt"';
  if (typeof fields.width !== 'number' || typeof fields.height !== 'number') return 'no numeric "width" and "height"';
  return 'is not a valid placeholder';
}

type AnyElement = WorksheetPage['elements'][number];

/** A copy of the worksheet with each element replaced by what `change` makes of it, given its "<page>-<element>" id. */
export function mapElements(worksheet: Worksheet, change: (element: AnyElement, id: string) => AnyElement): Worksheet {
  return {
    ...worksheet,
    pages: worksheet.pages.map((page, pageIndex) => ({
      ...page,
      elements: page.elements.map((element, elementIndex) => change(element, `${pageIndex}-${elementIndex}`)),
    })),
  };
}

/** A copy of the worksheet with each outcome written onto its placeholder; the input is not changed. */
export function applyOutcomes(worksheet: Worksheet, outcomes: readonly PlaceholderOutcome[]): Worksheet {
  const byId = new Map(outcomes.map((outcome) => [outcome.id, outcome]));
  return mapElements(worksheet, (element, id) => {
    const outcome = byId.get(id);
    if (!outcome) return element;
    return outcome.src ? { ...element, src: outcome.src, imageError: null } : { ...element, imageError: outcome.error };
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
