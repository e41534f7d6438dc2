import type { JobStatus } from '../generation/states.js';
import type { GenerationStats, ImageRequest, ImageResult, Progress } from '../generation/types.js';

export type { JobStatus } from '../generation/states.js';

/** One step of a job's progress, numbered 1, 2, 3 ... within the job. */
export interface GenerationEvent {
  jobId: string;
  sequence: number;
  /** The image whose state changed; null on the final event. */
  image: ImageResult | null;
  progress: Progress;
  stats: GenerationStats;
  done: boolean;
}

/** What a job looks like to readers: the latest results, stats and status. */
export interface JobSnapshot {
  id: string;
  status: JobStatus;
  results: ImageResult[];
  stats: GenerationStats;
  createdAt: Date;
  finishedAt: Date | null;
}

/** The one tenant of a server without API_TOKENS: local use, where every caller sees every job. */
export const LOCAL_TENANT = 'local';

export interface JobInput {
  /** Chosen by the client, or made up by the server. Also an idempotency key, within the tenant. */
  jobId?: string | null;
  images: ImageRequest[];
  /** Whose job it is: the access token's tenant or the client address; used for quotas. */
  owner?: string;
  /** Whose jobs this one sits among: the token's tenant, or LOCAL_TENANT without tokens. */
  tenant?: string;
}
