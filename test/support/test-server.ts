import { Writable } from 'node:stream';
import { buildApp, type App, type AppOverrides } from '../../src/app.js';
import { parseConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

export interface TestServer {
  app: App;
  config: Config;
  /** http://127.0.0.1:PORT/graphql */
  url: string;
  /** ws://127.0.0.1:PORT/graphql */
  wsUrl: string;
  /** Every log line the server wrote, as text. */
  logs: () => string;
  close: () => Promise<void>;
}

/**
 * Starts the real server on a free loopback port with the given environment (the embedded provider unless a
 * TOGETHER_API_KEY is passed), its logs captured for assertions.
 */
export async function startTestServer(
  environment: Record<string, string | undefined> = {},
  overrides: AppOverrides = {},
): Promise<TestServer> {
  const config = parseConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', ...environment });
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  const logger =
    overrides.logger ??
    createLogger({
      level: config.logLevel,
      secrets: [config.together.apiKey ?? '', ...config.apiTokens],
      destination,
    });
  const app = buildApp(config, { ...overrides, logger });
  const url = await app.start();
  return {
    app,
    config,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    logs: () => lines.join(''),
    close: () => app.stop({ graceMs: 100 }),
  };
}
