import { GraphQLRequestError, GraphQLTransportError } from '../client/index.js';
import { ConfigError } from '../config.js';
import { InvalidInputError, type InputIssue } from '../generation/input-error.js';
import type { WorksheetPlaceholder } from '../worksheet/worksheet.js';
import { CliFailure, ExitCode, UsageError } from './exit-codes.js';

export interface ErrorContext {
  /** The placeholders sent, so that `images[2]` in an error can be named as the worksheet element it came from. */
  placeholders?: readonly WorksheetPlaceholder[];
  /** The server's URL in server mode. */
  url?: string;
  /** Whether an access token was sent. */
  tokenSent?: boolean;
}

/** Any error as one line for stderr, without a stack, and the exit code it ends the CLI with. */
export function describeError(error: unknown, context: ErrorContext = {}): { message: string; exitCode: ExitCode } {
  const failure = (message: string) => ({ message: oneLine(message), exitCode: ExitCode.failure });
  if (error instanceof UsageError) return { message: oneLine(error.message), exitCode: ExitCode.usage };
  if (error instanceof CliFailure) return failure(error.message);
  if (error instanceof ConfigError) return failure(error.message.replace(/\n\s*/g, ' '));
  if (error instanceof InvalidInputError) return failure(`bad input: ${describeIssues(error.issues, context)}`);
  if (error instanceof GraphQLTransportError) {
    const reason = networkReason(error);
    return failure(
      error.status === undefined
        ? `cannot reach the server at ${context.url ?? 'the given URL'}${reason ? ` (${reason})` : ''}`
        : `the server at ${context.url ?? 'the given URL'} did not answer as a worksheet-images server: ${error.message}`,
    );
  }
  if (error instanceof GraphQLRequestError) {
    if (error.code === 'BAD_USER_INPUT') {
      const issues = Array.isArray(error.extensions.issues) ? (error.extensions.issues as InputIssue[]) : [];
      return failure(
        `bad input: ${issues.length > 0 ? describeIssues(issues, context) : mapFields(error.message, context)}`,
      );
    }
    if (error.code === 'UNAUTHENTICATED') {
      return failure(
        context.tokenSent
          ? `the server refused the access token: ${error.message}`
          : 'the server needs an access token: pass --token <token> or set WORKSHEET_IMAGES_TOKEN',
      );
    }
    return failure(`the server answered ${error.code ?? 'an error'}: ${mapFields(error.message, context)}`);
  }
  if (error instanceof Error) return failure(`unexpected error: ${error.message}`);
  return failure(`unexpected error: ${String(error)}`);
}

function describeIssues(issues: readonly InputIssue[], context: ErrorContext): string {
  const [first] = issues;
  if (!first) return 'the server gave no reason';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${mapFields(`${first.field}: ${first.message}`, context)}${more}`;
}

/** `input.images[2].width` → `pages[1].elements[0].width`: the user knows their worksheet, not our batch. */
function mapFields(text: string, { placeholders }: ErrorContext): string {
  if (!placeholders) return text;
  return text.replace(/(?:input\.)?images\[(\d+)\]/g, (match, index: string) => {
    const placeholder = placeholders[Number(index)];
    return placeholder ? `pages[${placeholder.pageIndex}].elements[${placeholder.elementIndex}]` : match;
  });
}

/** ECONNREFUSED, ENOTFOUND and their kind from fetch's cause chain; else the deepest cause's message. */
function networkReason(error: Error): string | undefined {
  let reason: string | undefined;
  let cause: unknown = error.cause;
  for (let depth = 0; depth < 5 && cause instanceof Error; depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (cause.message !== 'fetch failed') reason = cause.message;
    cause = cause.cause;
  }
  return reason;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
