import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../codegen.js';

const root = resolve(import.meta.dirname, '..');
const generatedDirectory = join(root, 'src/client/generated');

describe('the generated client operations', () => {
  it('match schema.graphql and src/client/operations.ts (run `npm run codegen` when this fails)', async () => {
    const outputs: Array<{ filename: string; content: string }> = await generate(
      { ...config, cwd: root, silent: true, verbose: false },
      false,
    );
    const expected = new Map(
      outputs.map(({ filename, content }) => [relative(root, resolve(root, filename)), content]),
    );
    const checkedIn = new Map(
      readdirSync(generatedDirectory).map((name) => [
        relative(root, join(generatedDirectory, name)),
        readFileSync(join(generatedDirectory, name), 'utf8'),
      ]),
    );

    expect([...checkedIn.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [filename, content] of expected) {
      expect(checkedIn.get(filename), `${filename} is stale`).toBe(content);
    }
  });
});
