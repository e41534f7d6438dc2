import WebSocket from 'ws';
import { WorksheetImageGenerationService } from '../client/index.js';
import { parseConfig } from '../config.js';
import { createGenerationService } from '../generation/create-generation-service.js';
import { createJobs } from '../jobs/create-jobs.js';
import { silentLogger } from '../logger.js';
import { createLocalProvider } from '../providers/local/index.js';
import { generateImagesForWorksheet } from '../worksheet/generate-images-for-worksheet.js';
import type { Worksheet } from '../worksheet/worksheet.js';

/** How far the job has come; the same shape in both modes. */
export interface ProgressSnapshot {
  completed: number;
  total: number;
  errors: number;
  /** The prompt being worked on, when one is known. */
  current: string | null;
}

/** One placeholder's end state. */
export interface ImageOutcome {
  /** The placeholder's id, "<page>-<element>". */
  id: string;
  status: string;
  error: { code: string; message: string } | null;
}

export interface WorksheetGeneration {
  status: 'COMPLETED' | 'CANCELLED';
  /** The worksheet with `src` data URLs (or `imageError`) on its placeholders. */
  worksheet: Worksheet;
  results: ImageOutcome[];
  retries: number;
}

/** Fills a worksheet's placeholders somewhere; aborting the signal cancels the job and answers what was done. */
export interface WorksheetGenerator {
  /** Where the images come from, for the summary. */
  readonly description: string;
  generate(
    worksheet: Worksheet,
    onProgress: (progress: ProgressSnapshot) => void,
    signal: AbortSignal,
  ): Promise<WorksheetGeneration>;
  close(): Promise<void>;
}

/** Generates in this process on the embedded offline provider, under the limits the environment sets. */
export function createInProcessGenerator(environment: Record<string, string | undefined>): WorksheetGenerator {
  const config = parseConfig({ ...environment, IMAGE_PROVIDER: 'local' });
  const provider = createLocalProvider();
  const logger = silentLogger();
  const service = createGenerationService(config, provider, logger);
  // The job layer the server runs: Ctrl-C cancels the job as cancelGeneration does, progress is the job's events.
  const { jobs, close } = createJobs(config, service, logger);
  return {
    description: 'the embedded offline provider',
    async generate(worksheet, onProgress, signal) {
      const generated = await generateImagesForWorksheet(worksheet, onProgress, { jobs, signal });
      return {
        status: generated.status,
        worksheet: generated.worksheet,
        results: generated.results,
        retries: generated.stats.retries,
      };
    },
    async close() {
      await close();
      await provider.close();
    },
  };
}

/** Generates on a worksheet-images server through the typed client: progress over WebSocket, else polling. */
export function createServerGenerator(options: { url: string; token?: string }): WorksheetGenerator {
  const client = new WorksheetImageGenerationService({
    url: options.url,
    ...(options.token !== undefined ? { token: options.token } : {}),
    webSocketImpl: WebSocket,
    // A WebSocket that cannot connect falls back to polling at once, so an unreachable server is reported quickly.
    retryAttempts: 0,
  });
  return {
    description: options.url,
    async generate(worksheet, onProgress, signal) {
      const generated = await client.generateImagesForWorksheet(worksheet, onProgress, { signal });
      return {
        status: generated.status,
        worksheet: generated.worksheet,
        // The server's `id` is unique across jobs; the placeholder's own id is the request id.
        results: generated.results.map(({ requestId, status, error }) => ({ id: requestId, status, error })),
        retries: generated.stats.retries,
      };
    },
    close: () => client.dispose(),
  };
}
