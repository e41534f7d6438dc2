import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { hardeningPlugins } from '../src/server/hardening.js';
import { useValidationCache } from '../src/server/validation-cache.js';

/** Yoga as app.ts builds it (armor's rules, validation cached per document), counting the validations it runs. */
function countingYoga() {
  let validations = 0;
  const counting: Plugin = {
    onValidate({ validateFn, setValidationFn }) {
      setValidationFn((...args: Parameters<typeof validateFn>) => {
        validations += 1;
        return validateFn(...args);
      });
    },
  };
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: 'type Query { greeting(name: String): String }',
      resolvers: { Query: { greeting: (_root: unknown, { name }: { name?: string }) => `hello ${name ?? 'you'}` } },
    }),
    parserAndValidationCache: { validationCache: false },
    plugins: [useValidationCache(), ...hardeningPlugins({ introspection: false, maxBatchSize: 100 }), counting],
  });
  const post = async (query: string, variables?: Record<string, unknown>) => {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: unknown; errors?: Array<{ message: string }> };
  };
  return { post, validations: () => validations };
}

describe('the validation cache', () => {
  it('validates each document once, whatever its variables', async () => {
    const { post, validations } = countingYoga();
    const query = 'query Greet($name: String) { greeting(name: $name) }';
    expect(await post(query, { name: 'a' })).toEqual({ data: { greeting: 'hello a' } });
    expect(await post(query, { name: 'b' })).toEqual({ data: { greeting: 'hello b' } });
    expect(validations()).toBe(1);
    expect(await post('{ greeting }')).toEqual({ data: { greeting: 'hello you' } });
    expect(validations()).toBe(2);
  });

  it('refuses a refused document every time, with the same errors and no suggestions', async () => {
    const { post, validations } = countingYoga();
    const aliases = `{ ${Array.from({ length: 6 }, (_, index) => `a${index}: greeting`).join(' ')} }`;
    const first = await post(aliases);
    const second = await post(aliases);
    expect(first.data).toBeUndefined();
    expect(first.errors?.map((error) => error.message).join('\n')).toMatch(/Aliases limit of 5 exceeded/);
    expect(second).toEqual(first);
    const typo = '{ greting }';
    const misspelt = [await post(typo), await post(typo)];
    for (const answer of misspelt) {
      expect(answer.errors?.[0]?.message).toMatch(/Cannot query field "greting"/);
      expect(JSON.stringify(answer)).not.toMatch(/did you mean/i);
    }
    expect(validations()).toBe(2);
  });
});
