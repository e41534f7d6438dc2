import { writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { parseConfig } from '../src/config.js';
import { buildSchema } from '../src/schema/index.js';

/** The schema as built with the default limits: the checked-in contract that clients and codegen read. */
export function printedSchema(): string {
  const { images } = parseConfig({});
  return `${printSchema(buildSchema(images))}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync('schema.graphql', printedSchema());
  process.stdout.write('wrote schema.graphql\n');
}
