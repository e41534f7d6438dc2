import type { DocumentNode, GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Remembers each document's validation result, per schema, in place of Yoga's own validation cache (turned off in
 * app.ts). Yoga keys its cache by the names of the rules in force, which it reads from every rule on every request;
 * graphql-armor adds its rules as fresh closures per request, and reading ~30 function names cost more than the
 * validation it saves. Here the rules are the same for every request of a server (armor's limits and the
 * introspection rule are fixed by its configuration), so the document and the schema are the whole key.
 * Documents come from Yoga's parse cache, so the same operation text is the same DocumentNode; weak maps let a
 * document evicted from that cache go.
 */
export function useValidationCache(): Plugin {
  const bySchema = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, readonly Error[]>>();
  return {
    onValidate({ params: { schema, documentAST }, setResult }) {
      let results = bySchema.get(schema);
      if (!results) {
        results = new WeakMap();
        bySchema.set(schema, results);
      }
      const known = results.get(documentAST);
      if (known) {
        setResult(known);
        return undefined;
      }
      const store = results;
      return ({ result }) => {
        store.set(documentAST, result);
      };
    },
  };
}
