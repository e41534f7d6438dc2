import SchemaBuilder from '@pothos/core';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError } from 'graphql';
import type { GenerationService } from '../generation/generation-service.js';
import { formatPath } from '../generation/input-error.js';
import type { JobManager } from '../jobs/job-manager.js';

/** What every resolver can reach: the two doors into the generation side, and who is asking. */
export interface GraphQLContext {
  jobs: JobManager;
  service: GenerationService;
  /** Whom quotas and budgets count: the caller's token tenant, or its address when no tokens are configured. */
  owner: string;
  /** Whose jobs the caller sees: its token's tenant, or the one local tenant without tokens. */
  tenant: string;
  /** Image bytes this operation has put inline (`image` data URLs) so far; see src/schema/inline-images.ts. */
  inlineImageBytes?: number;
}

export function createBuilder() {
  return new SchemaBuilder<{
    Context: GraphQLContext;
    Scalars: { ID: { Input: string; Output: string } };
    DefaultFieldNullability: false;
  }>({
    plugins: [ValidationPlugin],
    // Output fields are non-null unless they say otherwise, as the contract reads.
    defaultFieldNullability: false,
    validation: {
      validationError: (result) => {
        const issues = result.issues.map((issue) => ({
          field: formatPath(
            '',
            (issue.path ?? []).map((segment) => (typeof segment === 'object' ? segment.key : segment)),
          ),
          message: issue.message,
        }));
        return new GraphQLError(issues.map((issue) => `${issue.field}: ${issue.message}`).join('; '), {
          extensions: { code: 'BAD_USER_INPUT', issues },
        });
      },
    },
  });
}

export type Builder = ReturnType<typeof createBuilder>;
