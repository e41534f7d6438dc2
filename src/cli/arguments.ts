import { parseArgs } from 'node:util';
import { UsageError } from './exit-codes.js';

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | {
      kind: 'generate';
      /** The worksheet JSON file to read. */
      file: string;
      /** The directory the images and worksheet.json are written to. */
      outDir: string;
      /** The server's GraphQL endpoint; absent: generate in this process on the embedded provider. */
      url?: string;
      token?: string;
      /** Keep the images as data URLs in worksheet.json instead of file names. */
      embed: boolean;
    };

const options = {
  out: { type: 'string', short: 'o' },
  url: { type: 'string', short: 'u' },
  token: { type: 'string', short: 't' },
  embed: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/**
 * Reads the command line (without `node` and the script). `environment` supplies WORKSHEET_IMAGES_TOKEN, the token's
 * fallback that stays out of the process list. Throws UsageError with a one-line message.
 */
export function parseCliArguments(
  argv: readonly string[],
  environment: Record<string, string | undefined> = {},
): CliCommand {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof options; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const [command, file, ...extra] = positionals;
  if (command === undefined)
    throw new UsageError('missing command: try `worksheet-images generate <worksheet.json> --out <dir>`');
  if (command !== 'generate') throw new UsageError(`unknown command "${command}": the only command is "generate"`);
  if (file === undefined || file === '')
    throw new UsageError('missing the worksheet file: `generate <worksheet.json> --out <dir>`');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}": generate takes one worksheet file`);
  if (values.out === undefined || values.out === '')
    throw new UsageError('missing --out <dir>: where to write the images and worksheet.json');

  const token = values.token ?? nonEmpty(environment.WORKSHEET_IMAGES_TOKEN);
  if (values.url === undefined) {
    if (values.token !== undefined)
      throw new UsageError('--token needs --url: generating in this process needs no token');
    return { kind: 'generate', file, outDir: values.out, embed: values.embed ?? false };
  }
  return {
    kind: 'generate',
    file,
    outDir: values.out,
    url: normalizeServerUrl(values.url),
    ...(token !== undefined ? { token } : {}),
    embed: values.embed ?? false,
  };
}

/** An http(s) URL; one without a path gets /graphql, so `--url http://127.0.0.1:4000` works too. */
export function normalizeServerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--url must be an http(s) URL such as http://127.0.0.1:4000/graphql, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be an http(s) URL such as http://127.0.0.1:4000/graphql, got "${value}"`);
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/graphql';
  return url.href;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** parseArgs explains itself at length; one short line is enough here. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  const longName = /(--[a-z-]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}: see --help`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && longName) {
    return options[longName.slice(2) as keyof typeof options]?.type === 'boolean'
      ? `${longName} takes no value`
      : `${longName} needs a value`;
  }
  return message.split('\n')[0] ?? message;
}
