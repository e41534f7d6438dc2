import {
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { included } from '../schema/included.js';

/** One mutation field that would spend upstream images. */
export interface ImageSpend {
  field: string;
  images: number;
  /** The client's jobId, when it sent one: a job that already exists spends nothing again. */
  jobId?: string;
}

export interface OperationToCount {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
}

const BATCH_FIELDS = new Set(['generateWorksheetImages', 'startWorksheetImages']);

/**
 * The images an operation asks for, per mutation field, as execution will see them: variables coerced, fragments
 * followed, @skip/@include honoured, each alias counted once. A field whose arguments are invalid, or whose batch is over
 * `maxBatchSize`, is left out: execution refuses it before anything is spent.
 */
export function requestedImages(operation: OperationToCount, maxBatchSize: number): ImageSpend[] {
  const definition = getOperationAST(operation.document, operation.operationName ?? undefined);
  const mutationType = operation.schema.getMutationType();
  if (definition?.operation !== 'mutation' || !mutationType) return [];

  // One error is enough to know execution will refuse the variables; stopping there keeps hostile input cheap.
  const coerced = getVariableValues(
    operation.schema,
    definition.variableDefinitions ?? [],
    operation.variableValues ?? {},
    { maxErrors: 1 },
  );
  if (coerced.errors) return [];
  const variables = coerced.coerced;

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const node of operation.document.definitions) {
    if (node.kind === Kind.FRAGMENT_DEFINITION) fragments.set(node.name.value, node);
  }

  const spends: ImageSpend[] = [];
  // Fields with the same response key are merged and run once, as execution does.
  const responseKeys = new Set<string>();
  for (const field of rootFields(definition.selectionSet, fragments, variables, new Set())) {
    const responseKey = field.alias?.value ?? field.name.value;
    if (responseKeys.has(responseKey)) continue;
    responseKeys.add(responseKey);
    const name = field.name.value;
    const fieldDefinition = mutationType.getFields()[name];
    if (!fieldDefinition) continue;
    if (name !== 'generateImage' && !BATCH_FIELDS.has(name)) continue;
    let values: Record<string, unknown>;
    try {
      values = getArgumentValues(fieldDefinition, field, variables);
    } catch {
      continue;
    }
    // generateImage's arguments are one image; a batch's are its `input`.
    const input = (name === 'generateImage' ? values : values.input) as
      | { images?: unknown; jobId?: unknown }
      | undefined;
    const images = name === 'generateImage' ? [values] : input?.images;
    if (!Array.isArray(images) || images.length > maxBatchSize) continue;
    const jobId = typeof input?.jobId === 'string' ? input.jobId : undefined;
    spends.push({ field: name, images: images.length, ...(jobId === undefined ? {} : { jobId }) });
  }
  return spends;
}

function rootFields(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  visited: Set<string>,
): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const selection of selectionSet.selections) {
    if (!included(selection, variables)) continue;
    if (selection.kind === Kind.FIELD) {
      fields.push(selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      fields.push(...rootFields(selection.selectionSet, fragments, variables, visited));
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || visited.has(name)) continue;
      visited.add(name);
      fields.push(...rootFields(fragment.selectionSet, fragments, variables, visited));
    }
  }
  return fields;
}
