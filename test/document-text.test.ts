import { type DocumentNode, parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationText, printDocument } from '../src/client/document-text.js';
import * as operations from '../src/client/operations.js';

/** The same document as graphql's printer sees it: printing what we printed, parsed again, gives graphql's text. */
function expectSameDocument(document: DocumentNode): void {
  expect(print(parse(printDocument(document)))).toBe(print(document));
}

describe("the client's document printer", () => {
  const generated = Object.entries(operations) as Array<[string, DocumentNode]>;

  it('prints every generated document as graphql prints it', () => {
    expect(generated.length).toBeGreaterThan(5);
    for (const [, document] of generated) expectSameDocument(document);
  });

  it('names the operation of each generated operation document', () => {
    expect(operationText(operations.generationJobQuery)).toEqual({
      query: printDocument(operations.generationJobQuery),
      operationName: 'GenerationJob',
    });
    expect(operationText(operations.generationProgressSubscription).operationName).toBe('GenerationProgress');
    expect(operationText(operations.imageResultFieldsFragment).operationName).toBeUndefined();
  });

  it('prints every construct it knows: aliases, literals, lists, objects, directives, inline fragments, defaults', () => {
    expectSameDocument(
      parse(`
        query Everything($id: ID! = "job-1", $ids: [ID!]!, $limit: Int = 3, $flag: Boolean @deprecated) @live {
          first: generationJob(id: $id) @include(if: $flag) {
            id
            ... on GenerationJob { status }
            ...Stats @skip(if: false)
          }
          search(text: "a \\"quoted\\" cat\\n", size: 1.5, kinds: [PNG, JPEG], where: { min: 0, max: null, ok: true }) {
            __typename
          }
          anonymous: node { ... @include(if: true) { id } }
        }
        fragment Stats on GenerationJob { stats { total } }
        mutation { cancelGeneration(jobId: $id) { id } }
        subscription Follow($jobId: ID!, $after: Int) { generationProgress(jobId: $jobId, after: $after) { sequence } }
      `),
    );
  });

  it('refuses a node it does not know rather than sending a wrong query', () => {
    const schemaDocument = parse('type Query { a: Int }');
    expect(() => printDocument(schemaDocument)).toThrow(/cannot print a GraphQL ObjectTypeDefinition node/);
  });
});
