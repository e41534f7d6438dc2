import { z } from 'zod';
import type { Worksheet, WorksheetImageElement } from './worksheet.js';

/**
 * The zod schema of a worksheet (see worksheet.ts for the shape and the placeholder rules), for callers that validate
 * one from outside and want zod's messages: the CLI and the progress page. The typed client does not import it.
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

/** True when A and B are the same type. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

/** The hand-written types of worksheet.ts describe exactly what these schemas accept: a mismatch fails the typecheck. */
export type SchemasMatchTypes = [
  Assert<Same<z.infer<typeof worksheetSchema>, Worksheet>>,
  Assert<Same<z.infer<typeof worksheetImageElementSchema>, WorksheetImageElement>>,
];
