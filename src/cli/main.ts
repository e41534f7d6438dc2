import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { collectPlaceholders, explainNoPlaceholders } from '../worksheet/worksheet.js';
import { parseCliArguments, type CliCommand } from './arguments.js';
import { describeError, type ErrorContext } from './describe-error.js';
import { ExitCode } from './exit-codes.js';
import {
  createInProcessGenerator,
  createServerGenerator,
  type WorksheetGeneration,
  type WorksheetGenerator,
} from './generators.js';
import { HELP_TEXT, packageVersion } from './help-text.js';
import { createProgressReporter, type ProgressOutput } from './progress-bar.js';
import { readWorksheet } from './read-worksheet.js';
import { formatSummary } from './summary.js';
import { prepareOutputDirectory, writeOutput } from './write-output.js';

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: ProgressOutput;
  stderr: ProgressOutput;
  /** Called on Ctrl-C; answers a function that stops listening. */
  onInterrupt(listener: () => void): () => void;
  /** Ends the process at once (a second Ctrl-C). */
  exit(code: number): never;
}

const PROGRAM = 'worksheet-images';

/** Runs the CLI with these arguments (without `node` and the script) and answers its exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<ExitCode> {
  let command: CliCommand;
  try {
    command = parseCliArguments(argv, io.env);
  } catch (error) {
    io.stderr.write(`${PROGRAM}: ${describeError(error).message}\n`);
    return ExitCode.usage;
  }
  if (command.kind === 'help') {
    io.stdout.write(HELP_TEXT);
    return ExitCode.success;
  }
  if (command.kind === 'version') {
    io.stdout.write(`${packageVersion()}\n`);
    return ExitCode.success;
  }
  return generate(command, io);
}

async function generate(command: Extract<CliCommand, { kind: 'generate' }>, io: CliIo): Promise<ExitCode> {
  const startedAt = performance.now();
  const progress = createProgressReporter(io.stderr);
  const context: ErrorContext = command.url ? { url: command.url, tokenSent: command.token !== undefined } : {};
  const controller = new AbortController();
  const stopListening = io.onInterrupt(() => {
    if (controller.signal.aborted) io.exit(ExitCode.interrupted);
    progress.clear();
    io.stderr.write('cancelling the job (Ctrl-C again to quit at once)\n');
    controller.abort(new Error('Interrupted with Ctrl-C'));
  });
  let generator: WorksheetGenerator | undefined;

  try {
    const worksheet = await readWorksheet(command.file);
    const placeholders = collectPlaceholders(worksheet);
    if (placeholders.length === 0) {
      io.stderr.write(`${PROGRAM}: nothing to do in ${command.file}: ${explainNoPlaceholders(worksheet)}\n`);
      return ExitCode.nothingToDo;
    }
    context.placeholders = placeholders;
    await prepareOutputDirectory(command.outDir);

    generator = command.url
      ? createServerGenerator({ url: command.url, ...(command.token !== undefined ? { token: command.token } : {}) })
      : createInProcessGenerator(io.env);
    const generation: WorksheetGeneration = await generator.generate(
      worksheet,
      (snapshot) => progress.update(snapshot),
      controller.signal,
    );
    progress.finish();

    const written = await writeOutput({
      outDir: command.outDir,
      placeholders,
      illustrated: generation.worksheet,
      embed: command.embed,
    });
    io.stdout.write(formatSummary({ generation, placeholders, written, durationMs: performance.now() - startedAt }));
    if (generation.status === 'CANCELLED' && controller.signal.aborted) return ExitCode.interrupted;
    return generation.results.every((result) => result.status === 'SUCCEEDED')
      ? ExitCode.success
      : ExitCode.someImagesFailed;
  } catch (error) {
    progress.clear();
    // The client rejects with the signal's reason when Ctrl-C came before the job was sent.
    if (controller.signal.aborted && error === controller.signal.reason) {
      io.stderr.write(`${PROGRAM}: cancelled before the job had started; nothing was written\n`);
      return ExitCode.interrupted;
    }
    const { message, exitCode } = describeError(error, context);
    io.stderr.write(`${PROGRAM}: ${message}\n`);
    return exitCode;
  } finally {
    stopListening();
    await generator?.close().catch(() => undefined);
  }
}

function processIo(): CliIo {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    onInterrupt(listener) {
      process.on('SIGINT', listener);
      return () => process.off('SIGINT', listener);
    },
    exit: (code) => process.exit(code),
  };
}

/** The executable's entry: runs with the process's arguments and exits with the CLI's code. */
export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  // Whatever escapes is still one line, never a stack trace.
  const crash = (error: unknown) => {
    process.stderr.write(`${PROGRAM}: ${describeError(error).message}\n`);
    process.exit(ExitCode.failure);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const code = await main(argv);
  // Sockets kept alive by fetch or the WebSocket client must not hold the process open; let the output drain first.
  await Promise.all(
    [process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))),
  );
  process.exit(code);
}

/** True when this module is the script node was started with (`tsx src/cli/main.ts ...`), not an import. */
function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) void run();
