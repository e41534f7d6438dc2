import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed client operations: reads the checked-in schema and the `graphql()` documents of src/client/operations.ts,
 * writes TypedDocumentNodes to src/client/generated/. test/codegen.test.ts fails when the output is stale.
 */
const config: CodegenConfig = {
  schema: './schema.graphql',
  documents: ['src/client/operations.ts'],
  ignoreNoDocuments: false,
  // ESM imports with .js extensions, as NodeNext module resolution requires.
  emitLegacyCommonJSImports: false,
  generates: {
    'src/client/generated/': {
      preset: 'client',
      presetConfig: {
        // Fragments only share field lists here; their fields are read straight from the operation results.
        fragmentMasking: false,
      },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: true,
        // Every selected field is present in a response (null when empty), so result fields are not optional.
        avoidOptionals: { field: true },
        // Scalars as the server sends them; ID is always a string in results.
        scalars: { ID: { input: 'string', output: 'string' } },
      },
    },
  },
};

export default config;
