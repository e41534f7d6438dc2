import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GenerationObserver } from '../generation/generation-observer.js';

export interface GenerationMetricsOptions {
  registry: Registry;
  prefix: string;
  /** Upstream requests in flight right now; read on every scrape. */
  inFlight: () => number;
  /** Jobs running right now; read on every scrape. */
  runningJobs: () => number;
  /** The upstream limiter's concurrency limit and learned rate (null: not pacing); read on every scrape. */
  upstreamLimits?: () => { concurrency: number; ratePerSecond: number | null };
}

/** A FLUX.1 schnell call takes a second or a few; the upstream timeout defaults to 60 s. */
const UPSTREAM_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120];
/** From an idle limiter (milliseconds) to a backlog behind rate limiting (minutes). */
const QUEUE_WAIT_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Label value for an image that finished without an error code (every SUCCEEDED image). */
const NO_ERROR_CODE = 'none';

/**
 * Registers the generation service's metrics in `registry` and returns the observer that feeds them.
 * The observer never throws: a value that is not a duration is dropped rather than breaking the hot path.
 */
export function createGenerationMetrics({
  registry,
  prefix,
  inFlight,
  runningJobs,
  upstreamLimits,
}: GenerationMetricsOptions): GenerationObserver {
  const registers = [registry];

  // Counted here per image and handed to prom-client when scraped (collect runs before every read): a labelled inc
  // costs prom-client a label hash, a validation and an object lookup by that hash, once per image. The totals a
  // scrape sees are the same.
  const finishedImages = new Map<string, { status: string; code: string; count: number }>();
  const images = new Counter({
    name: `${prefix}images_total`,
    help: 'Images that reached a final state, by status and error code ("none" when the image has no error).',
    labelNames: ['status', 'code'] as const,
    registers,
    collect() {
      for (const entry of finishedImages.values()) {
        if (entry.count === 0) continue;
        this.inc({ status: entry.status, code: entry.code }, entry.count);
        entry.count = 0;
      }
    },
  });
  const retries = new Counter({
    name: `${prefix}retries_total`,
    help: 'Retries scheduled, by the reason the previous attempt failed.',
    labelNames: ['reason'] as const,
    registers,
  });
  const upstreamDuration = new Histogram({
    name: `${prefix}upstream_request_duration_seconds`,
    help: 'Duration of one upstream attempt, by outcome ("success" or the failure reason).',
    labelNames: ['outcome'] as const,
    buckets: UPSTREAM_DURATION_BUCKETS,
    registers,
  });
  const queueWait = new Histogram({
    name: `${prefix}queue_wait_seconds`,
    help: 'Time a request waited for a free upstream slot.',
    buckets: QUEUE_WAIT_BUCKETS,
    registers,
  });
  new Gauge({
    name: `${prefix}upstream_in_flight`,
    help: 'Upstream requests in flight.',
    registers,
    collect() {
      this.set(inFlight());
    },
  });
  if (upstreamLimits) {
    new Gauge({
      name: `${prefix}upstream_concurrency_limit`,
      help: 'Upstream requests allowed in flight now: GENERATION_CONCURRENCY, or less while the upstream pushes back.',
      registers,
      collect() {
        this.set(upstreamLimits().concurrency);
      },
    });
    new Gauge({
      name: `${prefix}upstream_rate_per_second`,
      help: 'Requests per second the limiter paces the upstream key to, learned from x-ratelimit-* headers or 429s; 0 while it does not pace.',
      registers,
      collect() {
        this.set(upstreamLimits().ratePerSecond ?? 0);
      },
    });
  }
  const rateLimitPause = new Counter({
    name: `${prefix}upstream_rate_limit_pause_seconds_total`,
    help: 'Time the upstream key was paused on a retry-after: no request went out with it (429, or 503 with retry-after).',
    registers,
  });
  const jobsStarted = new Counter({
    name: `${prefix}jobs_started_total`,
    help: 'Jobs started.',
    registers,
  });
  const jobsFinished = new Counter({
    name: `${prefix}jobs_finished_total`,
    help: 'Jobs finished, by final status.',
    labelNames: ['status'] as const,
    registers,
  });
  new Gauge({
    name: `${prefix}jobs_running`,
    help: 'Jobs with images running in this process (with REDIS_URL: on this replica).',
    registers,
    collect() {
      this.set(runningJobs());
    },
  });

  // Start every known series at zero so that rate() sees the first event and dashboards show the series.
  for (const status of ['COMPLETED', 'CANCELLED']) jobsFinished.inc({ status }, 0);
  images.inc({ status: 'SUCCEEDED', code: NO_ERROR_CODE }, 0);

  return {
    queueWait(milliseconds) {
      const seconds = toSeconds(milliseconds);
      if (seconds !== null) queueWait.observe(seconds);
    },
    rateLimitPause(milliseconds) {
      const seconds = toSeconds(milliseconds);
      if (seconds !== null) rateLimitPause.inc(seconds);
    },
    attemptFinished(milliseconds, outcome) {
      const seconds = toSeconds(milliseconds);
      if (seconds !== null) upstreamDuration.observe({ outcome: String(outcome) }, seconds);
    },
    retryScheduled(reason) {
      retries.inc({ reason: String(reason) });
    },
    imageFinished(status, code) {
      const label = code ?? NO_ERROR_CODE;
      const key = `${status}\n${label}`;
      const entry = finishedImages.get(key);
      if (entry) entry.count += 1;
      else finishedImages.set(key, { status, code: label, count: 1 });
    },
    jobStarted() {
      jobsStarted.inc();
    },
    jobFinished(status) {
      jobsFinished.inc({ status });
    },
  };
}

function toSeconds(milliseconds: number): number | null {
  return Number.isFinite(milliseconds) && milliseconds >= 0 ? milliseconds / 1000 : null;
}
