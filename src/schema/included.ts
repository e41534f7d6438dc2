import { getDirectiveValues, GraphQLIncludeDirective, GraphQLSkipDirective, type SelectionSetNode } from 'graphql';

/** Whether execution will run a selection, as @skip and @include decide with these variables. */
export function included(node: SelectionSetNode['selections'][number], variables: Record<string, unknown>): boolean {
  try {
    if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
    if (getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if === false) return false;
  } catch {
    // An invalid directive argument fails validation or execution; count the field rather than guess.
  }
  return true;
}
