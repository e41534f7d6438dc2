import { readFileSync } from 'node:fs';
import { isInputObjectType, isObjectType, isEnumType, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { buildSchema } from '../src/schema/index.js';
import { printedSchema } from '../scripts/print-schema.js';

describe('the printed schema', () => {
  it('is up to date: run `npm run schema` after changing the schema code', () => {
    expect(readFileSync('schema.graphql', 'utf8')).toBe(printedSchema());
  });

  it('documents every type, field, argument and enum value', () => {
    const schema: GraphQLSchema = buildSchema(parseConfig({}).images);
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || ['String', 'Int', 'Boolean', 'ID', 'Float'].includes(type.name)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of 'args' in field ? field.args : []) {
            if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
          }
        }
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('keeps the names and types of the public contract', () => {
    const schema = buildSchema(parseConfig({}).images);
    const signature = (typeName: string, fieldName: string) => {
      const type = schema.getType(typeName);
      if (!isObjectType(type)) throw new Error(`${typeName} is not an object type`);
      const field = type.getFields()[fieldName];
      if (!field) return 'missing';
      return `(${field.args.map((arg) => `${arg.name}: ${String(arg.type)}`).join(', ')}): ${String(field.type)}`;
    };
    expect(signature('Mutation', 'generateWorksheetImages')).toBe(
      '(input: GenerateWorksheetImagesInput!): GenerationJob!',
    );
    expect(signature('Mutation', 'startWorksheetImages')).toBe(
      '(input: GenerateWorksheetImagesInput!): GenerationJob!',
    );
    expect(signature('Mutation', 'cancelGeneration')).toBe('(jobId: ID!): GenerationJob!');
    expect(signature('Mutation', 'generateImage')).toBe(
      '(prompt: String!, width: Int!, height: Int!, seed: Int, jobId: ID): ImageResult!',
    );
    expect(signature('Query', 'generationJob')).toBe('(id: ID!): GenerationJob');
    expect(signature('Subscription', 'generationProgress')).toBe('(jobId: ID!, after: Int): GenerationEvent!');
    expect(signature('ImageResult', 'id')).toBe('(): ID!');
    expect(signature('ImageResult', 'requestId')).toBe('(): ID!');
    expect(signature('ImageResult', 'image')).toBe('(): String');
    expect(signature('ImageResult', 'error')).toBe('(): ImageError');
    expect(signature('GenerationEvent', 'image')).toBe('(): ImageResult');
    expect(signature('GenerationEvent', 'sequence')).toBe('(): Int!');
  });
});
