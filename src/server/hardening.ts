import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { getOperationAST, getVariableValues, GraphQLError, type ExecutionArgs, type ValidationContext } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

export interface HardeningOptions {
  /** When the schema is not public, "Did you mean ...?" hints would leak it: they are hidden. */
  introspection: boolean;
  /** Images per batch; sizes the token limit so a whole batch written inline in the query still parses. */
  maxBatchSize: number;
}

/**
 * Limits sized to this schema. Its deepest real selection is 4 levels (generationJob > results > dimensions > width),
 * and selecting every field of a job or a progress event once costs about 100 (fragments flattened), so depth 8 and
 * cost 300 leave room for any honest operation while 500 repeated fields (graphql-cop's field duplication probe) are
 * refused. Honest operations use no aliases or directives beyond a few @skip/@include; graphql-cop's probes are 101
 * aliases and 10 repeated directives. A batch sent as variables is about 60 tokens; written inline in the query, one
 * image with a seed is 17 tokens, so 20 per image keeps a full batch parseable.
 */
export function armorLimits(maxBatchSize: number) {
  return {
    maxDepth: 8,
    maxAliases: 5,
    maxDirectives: 5,
    maxTokens: Math.max(2000, 20 * maxBatchSize),
    maxCost: 300,
  } as const;
}

/** The Yoga plugins that keep hostile documents and cross-site requests out, on HTTP and WebSocket alike. */
export function hardeningPlugins(options: HardeningOptions): Plugin[] {
  const limits = armorLimits(options.maxBatchSize);
  // Validation-phase limits are reported like any validation error (one answer listing every problem, the usual
  // status codes) instead of being thrown out of validate().
  const report = {
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) =>
        context?.reportError(new GraphQLError(withoutSyntaxPrefix(error.message))),
    ],
  };
  return [
    EnvelopArmorPlugin({
      maxDepth: { n: limits.maxDepth, flattenFragments: true, ...report },
      // __typename counts too: graphql-cop's alias overloading probe is 101 aliases of it.
      maxAliases: { n: limits.maxAliases, allowList: [], ...report },
      maxDirectives: { n: limits.maxDirectives, ...report },
      costLimit: { maxCost: limits.maxCost, flattenFragments: true, ...report },
      // Counted while parsing, before any document exists: it can only throw, as a syntax error.
      maxTokens: { n: limits.maxTokens },
      // Replaced by hideSuggestions below, which also covers variable coercion and enum value hints.
      blockFieldSuggestion: { enabled: false },
    }),
    csrfPreventionForStateChangingMethods(),
    // Before checkVariablesFirst, so that its answer is scrubbed too.
    ...(options.introspection ? [] : [hideSuggestions()]),
    checkVariablesFirst(),
  ];
}

/**
 * Yoga's CSRF prevention: a request a browser sends cross-site without a preflight (a form post: urlencoded,
 * multipart or text/plain) is refused with 403 unless it carries `x-graphql-yoga-csrf`. GET is left alone (the
 * GraphQL-over-HTTP audits and plain links rely on it): Yoga refuses mutations over GET with 405, so a GET only reads.
 */
function csrfPreventionForStateChangingMethods(): Plugin {
  const csrf = useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf'] });
  return {
    onRequestParse(payload) {
      const method = payload.request.method;
      if (method === 'GET' || method === 'HEAD') return;
      return csrf.onRequestParse?.(payload);
    },
  };
}

const SUGGESTION = /\s*Did you mean[^?]*\?/g;

/** Removes "Did you mean ...?" from validation and execution errors (fields, arguments, input fields, enum values). */
function hideSuggestions(): Plugin {
  const scrub = <E extends Error>(errors: readonly E[]): Array<E | GraphQLError> =>
    errors.map((error) => {
      if (!(error instanceof GraphQLError) || !error.message.includes('Did you mean')) return error;
      return new GraphQLError(error.message.replace(SUGGESTION, ''), {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        path: error.path,
        extensions: error.extensions,
      });
    });
  return {
    onValidate() {
      return ({ valid, result, setResult }) => {
        if (!valid) setResult(scrub(result));
      };
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if ('errors' in result && result.errors) setResult({ ...result, errors: scrub(result.errors) });
        },
      };
    },
  };
}

const LONGEST_MESSAGE = 1000;

/**
 * Over HTTP, a body up to this size is coerced by the executor alone: its variable errors, however many, quote at most
 * this much each, and are cut to the first below. A larger body, or an operation over WebSocket (whose size is not
 * known here), is checked first, stopping at the first error.
 */
const CHECK_FIRST_ABOVE_BYTES = 16 * 1024;

/**
 * graphql-js reports up to 50 variable errors, and each quotes the whole invalid value: 1 MiB of unknown input fields
 * would come back as 50 MiB of messages after seconds of work. A large input is coerced here first, stopping at the
 * first error; a small one (nearly every request) is coerced once, by the executor. Either way the answer holds one
 * error, whose message keeps its start and its end (what was wrong) and drops the middle of the quoted value.
 */
function checkVariablesFirst(): Plugin {
  const shorten = (error: GraphQLError, overHttp: boolean): GraphQLError => {
    const half = LONGEST_MESSAGE / 2 - 10;
    const message =
      error.message.length <= LONGEST_MESSAGE
        ? error.message
        : `${error.message.slice(0, half)} … ${error.message.slice(-half)}`;
    return new GraphQLError(message, {
      nodes: error.nodes,
      // Over HTTP, as Yoga's executor does for these errors: 400 for application/graphql-response+json.
      extensions: { ...error.extensions, ...(overHttp ? { http: { status: 400 } } : {}) },
    });
  };
  const firstError = (args: ExecutionArgs, overHttp: boolean): GraphQLError | undefined => {
    const operation = getOperationAST(args.document, args.operationName ?? undefined);
    if (!operation?.variableDefinitions?.length) return undefined;
    const { errors } = getVariableValues(args.schema, operation.variableDefinitions, args.variableValues ?? {}, {
      maxErrors: 1,
    });
    const error = errors?.[0];
    return error ? shorten(error, overHttp) : undefined;
  };
  /** The request's body as the HTTP handler read it; undefined over WebSocket, where nothing says how big it was. */
  const httpBodyBytes = (args: ExecutionArgs): number | undefined => {
    const context = args.contextValue as { request?: unknown; req?: { body?: { length?: number } } } | undefined;
    if (context?.request === undefined) return undefined;
    return context.req?.body?.length ?? 0;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const bodyBytes = httpBodyBytes(args);
      const overHttp = bodyBytes !== undefined;
      if (bodyBytes !== undefined && bodyBytes <= CHECK_FIRST_ABOVE_BYTES) {
        return {
          onExecuteDone({ result, setResult }) {
            if (isAsyncIterable(result)) return;
            // Variables that did not coerce: the executor stopped before running anything, so there is no data.
            const first = result.errors?.[0];
            if (result.data === undefined && first && result.errors?.every(isVariableError)) {
              setResult({ errors: [shorten(first, overHttp)] });
            }
          },
        };
      }
      const error = firstError(args, overHttp);
      if (error) setResultAndStopExecution({ errors: [error] });
      return undefined;
    },
    // A subscription coerces its variables once for all its events, so checking first costs little.
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = firstError(args, httpBodyBytes(args) !== undefined);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}

function isVariableError(error: GraphQLError): boolean {
  return error.message.startsWith('Variable "$') || error.message.startsWith('Too many errors processing variables');
}

function withoutSyntaxPrefix(message: string): string {
  return message.replace(/^Syntax Error: /, '');
}
