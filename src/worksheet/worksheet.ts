import { z } from 'zod';

/**
 * A worksheet as the teacher's editor stores it: pages of elements, some of which are picture placeholders.
 * Elements keep every field the editor gave them; only `src` and `imageError` are written back.
 */
export const worksheetImageElementSchema = z
  .object({
    type: z.literal('image'),
    prompt: z.string(),
    width: z.number(),
    height: z.number(),
    seed: z.number().int().nullish(),
    /** The picture once generated: a data URL. A placeholder that already has one is left alone. */
    src: z.string().nullish(),
    /** Why the picture could not be made, when it could not. */
    imageError: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }).nullish(),
  })
  .passthrough();

export const worksheetElementSchema = z.union([
  worksheetImageElementSchema,
  z.object({ type: z.string() }).passthrough(),
]);

export const worksheetSchema = z
  .object({
    title: z.string().optional(),
    pages: z.array(z.object({ elements: z.array(worksheetElementSchema) }).passthrough()),
  })
  .passthrough();

export type Worksheet = z.infer<typeof worksheetSchema>;
export type WorksheetImageElement = z.infer<typeof worksheetImageElementSchema>;

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
  error: { code: string; message: string; retryable: boolean } | null;
}

export function isImagePlaceholder(element: unknown): element is WorksheetImageElement {
  const parsed = worksheetImageElementSchema.safeParse(element);
  return parsed.success && !parsed.data.src && parsed.data.prompt.trim().length > 0;
}

/** Every picture placeholder that still needs an image, in page and element order. */
export function collectPlaceholders(worksheet: Worksheet): WorksheetPlaceholder[] {
  const placeholders: WorksheetPlaceholder[] = [];
  worksheet.pages.forEach((page, pageIndex) => {
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

/** A copy of the worksheet with each element replaced by what `change` makes of it, given its "<page>-<element>" id. */
export function mapElements(
  worksheet: Worksheet,
  change: (
    element: Worksheet['pages'][number]['elements'][number],
    id: string,
  ) => Worksheet['pages'][number]['elements'][number],
): Worksheet {
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
