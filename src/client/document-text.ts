import type { DocumentNode } from 'graphql';

export interface OperationText {
  query: string;
  operationName: string | undefined;
}

const printed = new WeakMap<DocumentNode, OperationText>();

/**
 * The query text of a generated document (printed once) and its operation's name. The documents stay parsed
 * TypedDocumentNodes, which Apollo Client and urql take as they are; the client prints them itself so that a front
 * end's bundle carries no graphql runtime (its printer alone pulls in most of it).
 */
export function operationText(document: DocumentNode): OperationText {
  let text = printed.get(document);
  if (!text) {
    const root = document as unknown as AstNode;
    const operation = children(root, 'definitions').find((definition) => definition.kind === 'OperationDefinition');
    text = { query: printDocument(document), operationName: operation && maybeText(operation, 'name') };
    printed.set(document, text);
  }
  return text;
}

/**
 * A parsed document as query text: compact, not pretty. test/document-text.test.ts holds it equal to graphql's print
 * for every construct printed here; any other node is an error, never a wrong query.
 */
export function printDocument(document: DocumentNode): string {
  return print(document as unknown as AstNode);
}

/** The fields of an AST node that printing reads; the node objects are graphql-js's, as codegen wrote them. */
interface AstNode {
  readonly kind: string;
  readonly [field: string]: unknown;
}

const child = (node: AstNode, field: string): AstNode | undefined => node[field] as AstNode | undefined;
const children = (node: AstNode, field: string): readonly AstNode[] => (node[field] as AstNode[] | undefined) ?? [];
const maybeText = (node: AstNode, field: string): string | undefined => {
  const value = child(node, field);
  return value ? print(value) : undefined;
};
const text = (node: AstNode, field: string): string => maybeText(node, field) ?? '';
const list = (node: AstNode, field: string, separator = ', '): string =>
  children(node, field).map(print).join(separator);
const wrapped = (open: string, inner: string, close: string): string => (inner ? `${open}${inner}${close}` : '');
const directives = (node: AstNode): string => wrapped(' ', list(node, 'directives', ' '), '');
const selections = (node: AstNode): string => wrapped(' ', text(node, 'selectionSet'), '');

function print(node: AstNode): string {
  switch (node.kind) {
    case 'Document':
      return list(node, 'definitions', '\n');
    case 'OperationDefinition':
      return `${node.operation} ${text(node, 'name')}${wrapped('(', list(node, 'variableDefinitions'), ')')}${directives(node)}${selections(node)}`;
    case 'FragmentDefinition':
      return `fragment ${text(node, 'name')} on ${text(node, 'typeCondition')}${directives(node)}${selections(node)}`;
    case 'VariableDefinition':
      return `${text(node, 'variable')}: ${text(node, 'type')}${wrapped(' = ', text(node, 'defaultValue'), '')}${directives(node)}`;
    case 'SelectionSet':
      return `{ ${list(node, 'selections', ' ')} }`;
    case 'Field':
      return `${wrapped('', text(node, 'alias'), ': ')}${text(node, 'name')}${wrapped('(', list(node, 'arguments'), ')')}${directives(node)}${selections(node)}`;
    case 'FragmentSpread':
      return `...${text(node, 'name')}${directives(node)}`;
    case 'InlineFragment':
      return `...${wrapped(' on ', text(node, 'typeCondition'), '')}${directives(node)}${selections(node)}`;
    case 'Argument':
    case 'ObjectField':
      return `${text(node, 'name')}: ${text(node, 'value')}`;
    case 'Directive':
      return `@${text(node, 'name')}${wrapped('(', list(node, 'arguments'), ')')}`;
    case 'NamedType':
      return text(node, 'name');
    case 'NonNullType':
      return `${text(node, 'type')}!`;
    case 'ListType':
      return `[${text(node, 'type')}]`;
    case 'Variable':
      return `$${text(node, 'name')}`;
    case 'Name':
    case 'IntValue':
    case 'FloatValue':
    case 'EnumValue':
      return String(node.value);
    case 'BooleanValue':
      return node.value ? 'true' : 'false';
    case 'NullValue':
      return 'null';
    case 'StringValue':
      return JSON.stringify(node.value);
    case 'ListValue':
      return `[${list(node, 'values')}]`;
    case 'ObjectValue':
      return `{${list(node, 'fields')}}`;
    default:
      throw new TypeError(`The client cannot print a GraphQL ${node.kind} node`);
  }
}
