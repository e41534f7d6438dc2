import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = buildApp(config);
  const url = await app.start();
  // The first line is plain text so that people and scripts alike can read the URL; structured logs follow.
  process.stdout.write(`listening on ${url}\n`);
  app.logger.info({ url, provider: config.provider }, 'server started');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      // A second signal means "now": running jobs are not waited for.
      app.logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(130);
    }
    stopping = true;
    app.logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: finishing running jobs');
    app.stop().then(
      () => {
        app.logger.info('stopped');
        app.logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        app.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  // A bad configuration is the operator's to fix: one clear message, no stack trace.
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
});
