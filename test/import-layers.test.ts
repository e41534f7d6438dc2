import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Every module a file imports or re-exports from, resolved to a path under src/ when it is relative. */
function importedPaths(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g)].map(
    (match) => match[1] as string,
  );
  const dynamic = [...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((match) => match[1] as string);
  return [...specifiers, ...dynamic]
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(src, resolve(dirname(file), specifier)));
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Lower layers never reach up: what they share with the layers above lives below both (src/images). */
const FORBIDDEN: Record<string, string[]> = {
  providers: ['generation', 'jobs', 'schema', 'server', 'worksheet', 'cli', 'app.ts'],
  images: ['providers', 'generation', 'jobs', 'schema', 'server', 'worksheet', 'cli', 'app.ts'],
};

describe('imports run one way', () => {
  for (const [layer, above] of Object.entries(FORBIDDEN)) {
    it(`src/${layer} imports nothing from ${above.join(', ')}`, async () => {
      const offending: string[] = [];
      for (const file of await sourceFiles(join(src, layer))) {
        const text = await readFile(file, 'utf8');
        for (const path of importedPaths(file, text)) {
          const top = path.split('/')[0] as string;
          if (above.includes(top)) offending.push(`${relative(src, file)} -> ${path}`);
        }
      }
      expect(offending).toEqual([]);
    });
  }

  it('sees an upward import when there is one', () => {
    const file = join(src, 'providers', 'example.ts');
    const text = "import type { X } from '../generation/types.js';\nexport { Y } from './y.js';\n";
    expect(importedPaths(file, text)).toEqual(['generation/types.js', 'providers/y.js']);
  });
});
