/**
 * The upstream key's budget as plain data, and the pure decisions on it: may a request go out now, and what does an
 * answer teach. No timers, no I/O, no clock of its own (callers pass `now`, in epoch milliseconds), so that the
 * in-process store and a shared one (Redis) run the very same rules, and tests can replay any timeline.
 *
 * Three things hold a request back, in this order:
 * 1. a pause: after a 429 (or a 503 that says how long), nothing goes out with the key before retry-after has passed;
 * 2. the concurrency limit: requests in flight, lowered when the upstream pushes back, grown again after successes;
 * 3. the rate: a token bucket, learned from x-ratelimit-* headers when the upstream sends them, otherwise from 429s
 *    (multiplicative decrease, then growth while requests pass), so that the upstream rarely has to refuse.
 */
import type { RateLimitHeaders } from '../providers/rate-limit-headers.js';

export interface BudgetSettings {
  /** The most requests in flight (GENERATION_CONCURRENCY). */
  maxConcurrency: number;
  /** The pause after a 429 whose retry-after is missing, zero, negative or unreadable; it doubles while that repeats. */
  floorPauseMs: number;
  /** Where the doubling above stops. */
  maxFloorPauseMs: number;
  /** The longest pause any retry-after can impose; a larger value is taken as this. */
  maxPauseMs: number;
  /** No growth of the limit or the rate this soon after the upstream last pushed back. */
  growthHoldMs: number;
  /** The share of the learned rate actually used: a margin for clock skew and for the upstream's own rounding. */
  pacingMargin: number;
  /**
   * How much later than our first request from a full bucket the upstream may start refilling its own: it starts when
   * that request arrives, which a new connection or a busy machine can delay more than the requests after it.
   */
  refillLagMs: number;
}

export const DEFAULT_BUDGET_SETTINGS: Omit<BudgetSettings, 'maxConcurrency'> = {
  floorPauseMs: 1_000,
  maxFloorPauseMs: 30_000,
  maxPauseMs: 300_000,
  growthHoldMs: 5_000,
  pacingMargin: 0.95,
  refillLagMs: 50,
};

/** Rates above this many requests per second are as good as no rate: pacing stops. */
export const MAX_RATE_PER_SECOND = 1_000;
const MIN_RATE_PER_SECOND = 0.01;
/** A 429 without rate headers cuts the learned rate to this share. */
const RATE_DECREASE = 0.7;
/** While requests pass, a rate learned from 429s grows by this share about once per second's worth of requests. */
const RATE_GROWTH = 0.1;
/** Accepted requests in this window tell the rate the upstream took when it first refuses one. */
const ACCEPTED_WINDOW_MS = 2_000;
/** The most of them kept: enough to tell a rate, bounded whatever the rate. */
const MAX_ACCEPTED_STARTS = 256;
/** How long a rate read from headers counts: a limit that rises is believed after this long. */
const HEADER_ESTIMATE_WINDOW_MS = 10_000;
/** A rate change smaller than this share is not worth a log line. */
const RATE_REPORT_STEP = 0.1;

export type RateSource = 'headers' | 'refusals';

export interface BudgetState {
  concurrency: number;
  inFlight: number;
  /** Requests per second the upstream accepts for this key, or null while unknown (no pacing). */
  ratePerSecond: number | null;
  rateSource: RateSource | null;
  /** The token bucket's size. */
  burst: number;
  tokens: number;
  tokensAt: number;
  /** Nothing goes out before this time (epoch ms). */
  pausedUntil: number;
  /** When the upstream last refused a request or was overloaded (epoch ms), or null. */
  lastPushbackAt: number | null;
  /** When the rate was last cut because of a 429: one cut per round of requests sent after it. */
  lastRateCutAt: number | null;
  successesSinceGrowth: number;
  successesSinceRateGrowth: number;
  /** Rounds of 429s in a row without a usable retry-after: the floor pause doubles with each. */
  unusableRefusals: number;
  /** When the floor pause last doubled: refusals of requests sent before then are the same round. */
  lastFloorPauseAt: number | null;
  /** When accepted requests were sent, within the last ACCEPTED_WINDOW_MS. */
  acceptedStarts: number[];
  /** The rate last reported in a change, so that small moves do not each make a log line. */
  reportedRate: number | null;
  /** Rates the x-ratelimit-* headers implied lately: the lowest is the one used (each is an upper bound). */
  headerEstimates: Array<{ at: number; rate: number }>;
}

/** What a granted request carries back when it reports its outcome. */
export interface Grant {
  takenAt: number;
}

export type UpstreamOutcome =
  | { kind: 'success'; rateLimit?: RateLimitHeaders }
  /** HTTP 429. */
  | { kind: 'refused'; retryAfterMs?: number; rateLimit?: RateLimitHeaders }
  /** HTTP 503 and kin: the upstream is overloaded (not this key's limit). */
  | { kind: 'overloaded'; retryAfterMs?: number; rateLimit?: RateLimitHeaders }
  /** Any other end: another error, a timeout, a cancellation. Frees the slot and teaches nothing. */
  | { kind: 'other' }
  /** Granted but never sent (its waiter left meanwhile): the slot and the token are given back. */
  | { kind: 'unused' };

export interface BudgetChange {
  what: 'concurrency' | 'rate';
  /** null: no rate (not pacing). */
  from: number | null;
  to: number | null;
  why: string;
}

export type TakeResult =
  | { granted: true; state: BudgetState; grant: Grant }
  | {
      granted: false;
      state: BudgetState;
      reason: 'paused' | 'concurrency' | 'rate';
      /** When it is worth asking again; null: when a request in flight ends. */
      retryInMs: number | null;
    };

export interface SettleResult {
  state: BudgetState;
  changes: BudgetChange[];
  /** How much later the key's pause now ends than it did (0 when this answer did not pause it). */
  addedPauseMs: number;
}

export function initialBudget(settings: BudgetSettings, now: number): BudgetState {
  return {
    concurrency: settings.maxConcurrency,
    inFlight: 0,
    ratePerSecond: null,
    rateSource: null,
    burst: settings.maxConcurrency,
    tokens: settings.maxConcurrency,
    tokensAt: now,
    pausedUntil: 0,
    lastPushbackAt: null,
    lastRateCutAt: null,
    successesSinceGrowth: 0,
    successesSinceRateGrowth: 0,
    unusableRefusals: 0,
    lastFloorPauseAt: null,
    acceptedStarts: [],
    reportedRate: null,
    headerEstimates: [],
  };
}

/** The bucket refilled up to `now`, at the paced rate. */
function refill(state: BudgetState, settings: BudgetSettings, now: number): BudgetState {
  if (state.ratePerSecond === null || now <= state.tokensAt) return state;
  const elapsed = now - state.tokensAt;
  const tokens = Math.min(state.burst, state.tokens + (elapsed / 1000) * state.ratePerSecond * settings.pacingMargin);
  return { ...state, tokens, tokensAt: now };
}

/** May one request go out now? Takes a slot (and a token, when pacing) if so. */
export function take(state: BudgetState, settings: BudgetSettings, now: number): TakeResult {
  if (now < state.pausedUntil) {
    return { granted: false, state, reason: 'paused', retryInMs: state.pausedUntil - now };
  }
  if (state.inFlight >= state.concurrency) return { granted: false, state, reason: 'concurrency', retryInMs: null };
  let next = refill(state, settings, now);
  if (next.ratePerSecond !== null) {
    if (next.tokens < 1) {
      const perMs = (next.ratePerSecond * settings.pacingMargin) / 1000;
      const lag = Math.max(0, next.tokensAt - now);
      return {
        granted: false,
        state: next,
        reason: 'rate',
        retryInMs: Math.max(1, lag + Math.ceil((1 - next.tokens) / perMs)),
      };
    }
    const fromFull = next.tokens >= next.burst;
    next = { ...next, tokens: next.tokens - 1, tokensAt: fromFull ? now + settings.refillLagMs : next.tokensAt };
  }
  return { granted: true, state: { ...next, inFlight: next.inFlight + 1 }, grant: { takenAt: now } };
}

/**
 * Frees the slot a grant took and learns from what the upstream answered. Pure: it works on a copy of `state` and
 * returns the new state with the changes worth a log line.
 */
export function settle(
  state: BudgetState,
  settings: BudgetSettings,
  grant: Grant,
  outcome: UpstreamOutcome,
  now: number,
): SettleResult {
  const next: BudgetState = { ...state, inFlight: Math.max(0, state.inFlight - 1) };
  const changes: BudgetChange[] = [];
  let addedPauseMs = 0;

  const setConcurrency = (to: number, why: string) => {
    next.successesSinceGrowth = 0;
    if (to === next.concurrency) return;
    changes.push({ what: 'concurrency', from: next.concurrency, to, why });
    next.concurrency = to;
  };
  const setRate = (to: number | null, source: RateSource, why: string) => {
    const bounded = to === null || to > MAX_RATE_PER_SECOND ? null : Math.max(MIN_RATE_PER_SECOND, to);
    const reported = next.reportedRate;
    const worthReporting =
      (bounded === null) !== (reported === null) ||
      (bounded !== null && reported !== null && Math.abs(bounded - reported) >= RATE_REPORT_STEP * reported);
    if (worthReporting) {
      changes.push({ what: 'rate', from: reported, to: roundRate(bounded), why });
      next.reportedRate = roundRate(bounded);
    }
    if (next.ratePerSecond === null && bounded !== null) {
      // Pacing starts now, from an empty bucket unless the headers said what is left.
      next.tokens = 0;
      next.tokensAt = now;
    }
    next.ratePerSecond = bounded;
    next.rateSource = bounded === null ? null : source;
    next.successesSinceRateGrowth = 0;
  };
  const learnFromHeaders = (headers: RateLimitHeaders | undefined): boolean => {
    if (!headers) return false;
    if (headers.limit !== undefined && headers.limit >= 1) next.burst = Math.floor(headers.limit);
    const estimate = rateFromHeaders(headers);
    if (estimate === undefined) return false;
    // A `remaining` rounded down overstates the rate (by up to one token over `reset`): each estimate is an upper
    // bound, so the lowest of the recent ones is the closest. Old ones expire, so a limit that rises is followed.
    next.headerEstimates = [
      ...next.headerEstimates.filter((entry) => entry.at > now - HEADER_ESTIMATE_WINDOW_MS),
      { at: now, rate: estimate },
    ].slice(-32);
    const to = Math.min(...next.headerEstimates.map((entry) => entry.rate));
    const wasPacing = next.ratePerSecond !== null;
    setRate(to, 'headers', 'x-ratelimit-* headers');
    if (!wasPacing && headers.remaining !== undefined) next.tokens = Math.min(next.burst, headers.remaining);
    return true;
  };
  const pauseFor = (milliseconds: number) => {
    const until = now + milliseconds;
    if (until <= next.pausedUntil) return;
    addedPauseMs = until - Math.max(next.pausedUntil, now);
    next.pausedUntil = until;
  };
  const pushback = (why: string) => {
    // The upstream carried what is still in flight when it said no: that is what it takes (at least one).
    setConcurrency(Math.max(1, Math.min(next.concurrency - 1, next.inFlight)), why);
    next.lastPushbackAt = now;
    next.successesSinceRateGrowth = 0;
  };

  switch (outcome.kind) {
    case 'unused':
      if (next.ratePerSecond !== null) next.tokens = Math.min(next.burst, next.tokens + 1);
      break;
    case 'other':
      break;
    case 'success': {
      next.unusableRefusals = 0;
      next.acceptedStarts = withRecentStart(next.acceptedStarts, grant.takenAt, now);
      learnFromHeaders(outcome.rateLimit);
      if (next.lastPushbackAt !== null && now - next.lastPushbackAt < settings.growthHoldMs) break;
      if (next.concurrency < settings.maxConcurrency) {
        next.successesSinceGrowth += 1;
        // Two full windows of successes per step.
        if (next.successesSinceGrowth >= 2 * next.concurrency) setConcurrency(next.concurrency + 1, 'requests passed');
      }
      if (next.rateSource === 'refusals' && next.ratePerSecond !== null) {
        next.successesSinceRateGrowth += 1;
        if (next.successesSinceRateGrowth >= Math.max(1, Math.round(next.ratePerSecond))) {
          setRate(next.ratePerSecond * (1 + RATE_GROWTH), 'refusals', 'requests passed');
          if (next.ratePerSecond !== null) next.burst = burstFor(next.ratePerSecond);
        }
      }
      break;
    }
    case 'refused': {
      pushback('the upstream answered 429');
      if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > 0) {
        pauseFor(Math.min(outcome.retryAfterMs, settings.maxPauseMs));
        next.unusableRefusals = 0;
      } else if (next.lastFloorPauseAt === null || grant.takenAt >= next.lastFloorPauseAt) {
        // Requests sent together and refused together are one round: the floor doubles once for them.
        pauseFor(Math.min(settings.floorPauseMs * 2 ** next.unusableRefusals, settings.maxFloorPauseMs));
        next.unusableRefusals += 1;
        next.lastFloorPauseAt = now;
      }
      if (
        !learnFromHeaders(outcome.rateLimit) &&
        (next.lastRateCutAt === null || grant.takenAt >= next.lastRateCutAt)
      ) {
        // One cut per round: refusals of requests sent before the last cut are the same news again.
        if (next.ratePerSecond !== null) {
          setRate(next.ratePerSecond * RATE_DECREASE, 'refusals', 'the upstream answered 429');
        } else {
          const accepted = acceptedRate(next, now);
          if (accepted !== undefined) setRate(accepted * 0.9, 'refusals', 'the upstream answered 429');
        }
        if (next.ratePerSecond !== null) next.burst = burstFor(next.ratePerSecond);
        next.lastRateCutAt = now;
      }
      // The upstream's bucket is empty: ours starts again from nothing (it refills during the pause).
      if (next.ratePerSecond !== null) {
        next.tokens = 0;
        next.tokensAt = now;
      }
      break;
    }
    case 'overloaded':
      pushback('the upstream was overloaded');
      if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > 0) {
        pauseFor(Math.min(outcome.retryAfterMs, settings.maxPauseMs));
      }
      learnFromHeaders(outcome.rateLimit);
      break;
  }
  return { state: next, changes, addedPauseMs };
}

/**
 * The rate a `limit` / `remaining` / `reset` triple implies, reading reset as the time until the bucket is full again
 * (Together's wording): `limit - remaining` requests come back in `reset`. Undefined when it says nothing about it
 * (a full bucket, or no reset).
 */
export function rateFromHeaders(headers: RateLimitHeaders): number | undefined {
  const { limit, remaining, resetMs } = headers;
  if (limit === undefined || remaining === undefined || resetMs === undefined) return undefined;
  if (limit <= remaining || resetMs <= 0) return undefined;
  return (limit - remaining) / (resetMs / 1000);
}

function acceptedRate(state: BudgetState, now: number): number | undefined {
  const recent = state.acceptedStarts.filter((at) => at > now - ACCEPTED_WINDOW_MS);
  const oldest = recent[0];
  if (recent.length < 2 || oldest === undefined) return undefined;
  const span = Math.max(500, now - oldest);
  return (recent.length / span) * 1000;
}

/**
 * The accepted starts still within ACCEPTED_WINDOW_MS, then `takenAt`, the last 256 of them: one new array per
 * success (this runs for every image) rather than three.
 */
function withRecentStart(starts: readonly number[], takenAt: number, now: number): number[] {
  const from = now - ACCEPTED_WINDOW_MS;
  const kept: number[] = [];
  for (const at of starts) if (at > from) kept.push(at);
  kept.push(takenAt);
  return kept.length > MAX_ACCEPTED_STARTS ? kept.slice(-MAX_ACCEPTED_STARTS) : kept;
}

/** A rate learned from 429s allows about one second's worth of requests at once. */
function burstFor(ratePerSecond: number): number {
  return Math.max(1, Math.round(ratePerSecond));
}

function roundRate(rate: number | null): number | null {
  return rate === null ? null : Math.round(rate * 100) / 100;
}
