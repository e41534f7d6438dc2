import { describe, expect, it } from 'vitest';
import {
  type BudgetSettings,
  type BudgetState,
  DEFAULT_BUDGET_SETTINGS,
  type Grant,
  initialBudget,
  rateFromHeaders,
  settle,
  take,
  type UpstreamOutcome,
} from '../src/generation/upstream-budget.js';

const T0 = 1_800_000_000_000;

function settingsFor(maxConcurrency: number, overrides: Partial<BudgetSettings> = {}): BudgetSettings {
  return { ...DEFAULT_BUDGET_SETTINGS, maxConcurrency, ...overrides };
}

/** A replayable timeline over the pure budget: take and settle at chosen times. */
function timeline(settings: BudgetSettings) {
  let state: BudgetState = initialBudget(settings, T0);
  const log: Array<{ what: string; from: number | null; to: number | null; why: string }> = [];
  return {
    get state() {
      return state;
    },
    log,
    take(at: number) {
      const result = take(state, settings, T0 + at);
      state = result.state;
      return result;
    },
    /** Takes and expects a grant. */
    grant(at: number): Grant {
      const result = this.take(at);
      if (!result.granted) throw new Error(`expected a grant at ${at} ms, got ${result.reason}`);
      return result.grant;
    },
    settle(grant: Grant, outcome: UpstreamOutcome, at: number) {
      const result = settle(state, settings, grant, outcome, T0 + at);
      state = result.state;
      log.push(...result.changes);
      return result;
    },
  };
}

describe('the upstream budget: the pause gate', () => {
  it('lets nothing out before a 429’s retry-after has passed, then lets requests out again', () => {
    const budget = timeline(settingsFor(4));
    const grant = budget.grant(0);
    const { addedPauseMs } = budget.settle(grant, { kind: 'refused', retryAfterMs: 2_000 }, 10);
    expect(addedPauseMs).toBe(2_000);
    expect(budget.take(1_000)).toMatchObject({ granted: false, reason: 'paused', retryInMs: 1_010 });
    expect(budget.take(2_009)).toMatchObject({ granted: false, reason: 'paused', retryInMs: 1 });
    expect(budget.take(2_010).granted).toBe(true);
  });

  it.each([
    ['zero', 0],
    ['negative', -5_000],
    ['missing', undefined],
  ])('treats a %s retry-after as the 1 s floor, doubling while it repeats, up to 30 s', (_name, retryAfterMs) => {
    const budget = timeline(settingsFor(1));
    const outcome: UpstreamOutcome =
      retryAfterMs === undefined ? { kind: 'refused' } : { kind: 'refused', retryAfterMs };
    const pauses: number[] = [];
    let at = 0;
    for (let refusal = 0; refusal < 7; refusal += 1) {
      const grant = budget.grant(at);
      pauses.push(budget.settle(grant, outcome, at).addedPauseMs);
      at = budget.state.pausedUntil - T0;
    }
    expect(pauses).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);

    // An answer that passes ends the doubling.
    budget.settle(budget.grant(at), { kind: 'success' }, at + 100);
    expect(budget.settle(budget.grant(at + 100), outcome, at + 100).addedPauseMs).toBe(1_000);
  });

  it('doubles the floor once for requests that were sent together and refused together', () => {
    const budget = timeline(settingsFor(4));
    const [first, second] = [budget.grant(0), budget.grant(0)];
    expect(budget.settle(first, { kind: 'refused' }, 5).addedPauseMs).toBe(1_000);
    expect(budget.settle(second, { kind: 'refused' }, 6).addedPauseMs).toBe(0);
    expect(budget.state.pausedUntil).toBe(T0 + 1_005);
    expect(budget.settle(budget.grant(1_005), { kind: 'refused' }, 1_010).addedPauseMs).toBe(2_000);
  });

  it('caps an absurd retry-after at five minutes', () => {
    const budget = timeline(settingsFor(1));
    const { addedPauseMs } = budget.settle(budget.grant(0), { kind: 'refused', retryAfterMs: 86_400_000 }, 0);
    expect(addedPauseMs).toBe(300_000);
  });

  it('pauses on a 503 only when it says how long, and extends a pause rather than shortening it', () => {
    const budget = timeline(settingsFor(4));
    const [a, b, c] = [budget.grant(0), budget.grant(0), budget.grant(0)];
    expect(budget.settle(a, { kind: 'overloaded' }, 0).addedPauseMs).toBe(0);
    expect(budget.settle(b, { kind: 'overloaded', retryAfterMs: 3_000 }, 0).addedPauseMs).toBe(3_000);
    expect(budget.settle(c, { kind: 'refused', retryAfterMs: 1_000 }, 0).addedPauseMs).toBe(0);
    expect(budget.state.pausedUntil).toBe(T0 + 3_000);
  });
});

describe('the upstream budget: concurrency', () => {
  it('grants up to the limit, lowers it to what the upstream carried when it said no, and grows it back', () => {
    const budget = timeline(settingsFor(8, { growthHoldMs: 5_000 }));
    const grants = Array.from({ length: 8 }, () => budget.grant(0));
    expect(budget.take(0)).toMatchObject({ granted: false, reason: 'concurrency', retryInMs: null });
    // Refused while three others are still in flight.
    for (const grant of grants.slice(3, 7)) budget.settle(grant, { kind: 'other' }, 1);
    budget.settle(grants[7] as Grant, { kind: 'overloaded' }, 2);
    expect(budget.state.concurrency).toBe(3);
    expect(budget.log).toContainEqual({
      what: 'concurrency',
      from: 8,
      to: 3,
      why: 'the upstream was overloaded',
    });
    for (const grant of grants.slice(0, 3)) budget.settle(grant, { kind: 'success' }, 100);
    // No growth while the upstream's pushback is recent.
    for (let index = 0; index < 12; index += 1) budget.settle(budget.grant(1_000), { kind: 'success' }, 1_000);
    expect(budget.state.concurrency).toBe(3);
    // After the hold: two full windows of successes per step.
    for (let index = 0; index < 6; index += 1) budget.settle(budget.grant(6_000), { kind: 'success' }, 6_000);
    expect(budget.state.concurrency).toBe(4);
    expect(budget.log.at(-1)).toEqual({ what: 'concurrency', from: 3, to: 4, why: 'requests passed' });
  });
});

describe('the upstream budget: the rate', () => {
  it('reads the rate from x-ratelimit-* headers and paces to it, with a margin', () => {
    const budget = timeline(settingsFor(16));
    budget.settle(budget.grant(0), { kind: 'success', rateLimit: { limit: 5, remaining: 4, resetMs: 200 } }, 500);
    expect(budget.state).toMatchObject({ ratePerSecond: 5, rateSource: 'headers', burst: 5 });
    expect(budget.log).toContainEqual({ what: 'rate', from: null, to: 5, why: 'x-ratelimit-* headers' });
    // The bucket had 4 left and refills at 95% of 5/s; it is full (5) a second later.
    for (let index = 0; index < 5; index += 1) budget.grant(2_000);
    const refused = budget.take(2_000);
    expect(refused).toMatchObject({ granted: false, reason: 'rate' });
    // The upstream starts refilling when our first request arrives, which may be a little late: 50 ms of slack.
    expect(refused.granted === false && refused.retryInMs).toBe(50 + Math.ceil(1_000 / (5 * 0.95)));
    expect(budget.take(2_000 + 260).granted).toBe(false);
    expect(budget.take(2_000 + 261).granted).toBe(true);
  });

  it('keeps the lowest rate the headers implied lately (a rounded remaining overstates it)', () => {
    const budget = timeline(settingsFor(16));
    const at = (ms: number, remaining: number, resetMs: number) =>
      budget.settle(budget.grant(ms), { kind: 'success', rateLimit: { limit: 5, remaining, resetMs } }, ms);
    at(0, 4, 200);
    at(100, 0, 800); // 6.25/s: an overstatement
    expect(budget.state.ratePerSecond).toBe(5);
    at(200, 2, 750); // 4/s: the limit went down
    expect(budget.state.ratePerSecond).toBe(4);
    // Ten seconds later the low reading has expired: a rate that rose is believed.
    at(11_000, 4, 100);
    expect(budget.state.ratePerSecond).toBe(10);
  });

  it('learns a rate from 429s without headers: what passed lately, then cuts it once per round, then grows it', () => {
    const budget = timeline(settingsFor(16, { growthHoldMs: 1_000 }));
    // Eight requests passed in the last second...
    for (let index = 0; index < 8; index += 1) budget.settle(budget.grant(index * 125), { kind: 'success' }, 1_000);
    expect(budget.state.ratePerSecond).toBeNull();
    // ...then two are refused at the same moment: one lesson, not two.
    const [first, second] = [budget.grant(1_000), budget.grant(1_000)];
    budget.settle(first, { kind: 'refused', retryAfterMs: 1_000 }, 1_010);
    budget.settle(second, { kind: 'refused', retryAfterMs: 1_000 }, 1_011);
    const learned = budget.state.ratePerSecond as number;
    expect(learned).toBeGreaterThan(5);
    expect(learned).toBeLessThan(9);
    expect(budget.state.rateSource).toBe('refusals');
    // A request sent after that lesson and refused again cuts it to 70%.
    budget.settle(budget.grant(2_100), { kind: 'refused', retryAfterMs: 1_000 }, 2_100);
    expect(budget.state.ratePerSecond).toBeCloseTo(learned * 0.7, 5);
    // Once the upstream stops refusing, the rate grows back.
    const cut = budget.state.ratePerSecond as number;
    let at = 10_000;
    for (let index = 0; index < 40; index += 1) {
      const result = budget.take(at);
      if (result.granted) budget.settle(result.grant, { kind: 'success' }, at);
      at += 250;
    }
    expect(budget.state.ratePerSecond as number).toBeGreaterThan(cut * 1.2);
    expect(budget.log.filter((change) => change.what === 'rate').at(-1)?.why).toBe('requests passed');
  });

  it('gives back the token of a grant that was never used', () => {
    const budget = timeline(settingsFor(4));
    budget.settle(budget.grant(0), { kind: 'success', rateLimit: { limit: 1, remaining: 0, resetMs: 1_000 } }, 0);
    const grant = budget.grant(2_000);
    expect(budget.take(2_000).granted).toBe(false);
    budget.settle(grant, { kind: 'unused' }, 2_000);
    expect(budget.take(2_000).granted).toBe(true);
  });

  it('reads limit - remaining requests per reset as the rate, and nothing from a full bucket', () => {
    expect(rateFromHeaders({ limit: 10, remaining: 4, resetMs: 1_200 })).toBe(5);
    expect(rateFromHeaders({ limit: 10, remaining: 10, resetMs: 0 })).toBeUndefined();
    expect(rateFromHeaders({ limit: 10, remaining: 3 })).toBeUndefined();
  });
});
