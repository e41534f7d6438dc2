import { pino, type DestinationStream, type Logger } from 'pino';
import { requestContext } from './request-context.js';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Values that must never reach a log line (the upstream key, access tokens), wherever they appear. */
  secrets: readonly string[];
  /** Where lines go; stdout by default. Tests pass a capturing stream. */
  destination?: DestinationStream;
}

const REDACTED = '[REDACTED]';

/**
 * Structured JSON logs. Secrets are kept out twice: known fields are redacted by path, and every serialized line
 * is scrubbed of the secret values themselves, so a key pasted into an upstream error message cannot leak either.
 */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = options.secrets.filter((secret) => secret.length >= 4);
  return pino(
    {
      level: options.level,
      base: undefined,
      redact: {
        paths: [
          'apiKey',
          '*.apiKey',
          'authorization',
          'headers.authorization',
          'req.headers.authorization',
          'req.headers.cookie',
          'connectionParams.authorization',
        ],
        censor: REDACTED,
      },
      hooks: {
        streamWrite: (line) => scrubSecrets(line, secrets),
      },
      mixin: () => {
        const context = requestContext.getStore();
        return context ? { requestId: context.requestId } : {};
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let scrubbed = text;
  for (const secret of secrets) {
    if (scrubbed.includes(secret)) scrubbed = scrubbed.split(secret).join(REDACTED);
  }
  return scrubbed;
}

/** A logger that writes nothing, for library use and tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
