import { describe, expect, it } from 'vitest';
import { BatchTracker } from '../src/generation/batch-tracker.js';
import { emptyTally, finalProgressOf, progressOf, statsOf, tallyOf } from '../src/generation/job-tally.js';
import type { ProgressEvent } from '../src/generation/types.js';

const tally = { total: 7, successful: 3, failed: 2, cancelled: 1, retries: 4, durationMs: 1234 };

describe('a job tally', () => {
  it('derives stats: pending is every image not yet final', () => {
    expect(statsOf(tally)).toEqual({ ...tally, pending: 1 });
    expect(statsOf(emptyTally(5))).toEqual({
      total: 5,
      successful: 0,
      failed: 0,
      cancelled: 0,
      pending: 5,
      retries: 0,
      durationMs: 0,
    });
  });

  it('derives progress: completed counts every final image, errors the failed ones', () => {
    expect(progressOf(tally, 'a fox')).toEqual({ completed: 6, total: 7, errors: 2, current: 'a fox' });
    expect(progressOf(tally, null).current).toBeNull();
  });

  it("derives the final event's progress with nothing in flight, from a tally or from final stats", () => {
    const stats = statsOf({ ...tally, successful: 4 });
    expect(finalProgressOf(stats)).toEqual({ completed: 7, total: 7, errors: 2, current: null });
    expect(finalProgressOf(tallyOf(stats))).toEqual(finalProgressOf(stats));
  });

  it('reads the counts back out of stats, without the derived pending', () => {
    expect(tallyOf(statsOf(tally))).toEqual(tally);
  });
});

describe('the batch tracker', () => {
  const images = ['a fox', 'a hen', 'a cow'].map((prompt, index) => ({
    id: `0-${index}`,
    prompt,
    requestedDimensions: { width: 64, height: 64 },
    dimensions: { width: 64, height: 64 },
    deduplicated: false,
  }));

  it('counts each image once, at its first final state, and retries as they are reported', () => {
    let clock = 100;
    const events: ProgressEvent[] = [];
    const tracker = new BatchTracker(
      images,
      (event) => events.push(event),
      () => clock,
    );
    tracker.update(0, { status: 'GENERATING', attempts: 1 });
    tracker.update(0, { status: 'FAILED', attempts: 1 });
    // A late second final state (a recovered task, say) changes nothing and says nothing.
    tracker.update(0, { status: 'SUCCEEDED', attempts: 1 });
    tracker.update(1, { status: 'CANCELLED' });
    tracker.countRetry();
    clock = 142.4;
    expect(events).toHaveLength(3);
    expect(tracker.stats()).toEqual({
      total: 3,
      successful: 0,
      failed: 1,
      cancelled: 1,
      pending: 1,
      retries: 1,
      durationMs: 42,
    });
    tracker.update(2, { status: 'SUCCEEDED', attempts: 1 });
    tracker.finish();
    clock = 500;
    expect(tracker.stats()).toMatchObject({ successful: 1, pending: 0, durationMs: 42 });
    expect(events.at(-1)?.progress).toEqual({ completed: 3, total: 3, errors: 1, current: null });
  });

  it('names the newest prompt still in flight, falling back to an older one when the newest stops', () => {
    const currents: Array<string | null> = [];
    const tracker = new BatchTracker(images, (event) => currents.push(event.progress.current));
    tracker.update(0, { status: 'GENERATING', attempts: 1 });
    tracker.update(1, { status: 'GENERATING', attempts: 1 });
    tracker.update(2, { status: 'GENERATING', attempts: 1 });
    tracker.update(2, { status: 'SUCCEEDED', attempts: 1 });
    tracker.update(0, { status: 'RETRYING', attempts: 1, retryInMs: 10 });
    tracker.update(0, { status: 'GENERATING', attempts: 2 });
    tracker.update(0, { status: 'SUCCEEDED', attempts: 2 });
    expect(currents).toEqual(['a fox', 'a hen', 'a cow', 'a hen', 'a hen', 'a fox', 'a hen']);
    expect(tracker.progress().current).toBe('a hen');
  });
});
