import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { formatPath } from '../generation/input-error.js';
import type { Worksheet } from '../worksheet/worksheet.js';
import { worksheetImageElementSchema, worksheetSchema } from '../worksheet/worksheet-schema.js';
import { CliFailure } from './exit-codes.js';

/** Reads and checks a worksheet file; every problem is a CliFailure with one line that names the file. */
export async function readWorksheet(file: string): Promise<Worksheet> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliFailure(`cannot read ${file}: ${describeFileError(error)}`, { cause: error });
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliFailure(`${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }

  const parsed = worksheetSchema.safeParse(json);
  if (!parsed.success) throw notAWorksheet(file, parsed.error.issues, []);

  // The worksheet schema lets any element with a string `type` through, so an image element with a missing width
  // would be skipped silently; here it is an error naming the field.
  parsed.data.pages.forEach((page, pageIndex) => {
    page.elements.forEach((element, elementIndex) => {
      if (element.type !== 'image') return;
      const image = worksheetImageElementSchema.safeParse(element);
      if (!image.success) throw notAWorksheet(file, image.error.issues, ['pages', pageIndex, 'elements', elementIndex]);
    });
  });
  return parsed.data;
}

function notAWorksheet(file: string, issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): CliFailure {
  const [first] = issues;
  const where = first ? formatPath('', [...prefix, ...first.path]) : '';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  const what = first?.message ?? 'not the worksheet shape';
  return new CliFailure(
    `${file} is not a worksheet (expected {"pages": [{"elements": [...]}]}): ${where ? `${where}: ` : ''}${what}${more}`,
  );
}

function describeFileError(error: unknown): string {
  switch ((error as { code?: unknown }).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
