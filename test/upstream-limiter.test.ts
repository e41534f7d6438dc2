import { describe, expect, it } from 'vitest';
import { UpstreamLimiter } from '../src/generation/upstream-limiter.js';

/** A task that finishes when the test says so, recording when it started. */
function controllable(log: string[], name: string) {
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('the shared upstream limiter', () => {
  it('never runs more tasks at once than its concurrency', async () => {
    const limiter = new UpstreamLimiter(3);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        limiter.run(async () => {
          running += 1;
          peak = Math.max(peak, running);
          await flush();
          running -= 1;
        }),
      ),
    );
    expect(peak).toBe(3);
  });

  it('hands free slots to jobs in turn, so a big batch cannot starve a small one that comes after it', async () => {
    const limiter = new UpstreamLimiter(1);
    const started: string[] = [];
    const big = Array.from({ length: 6 }, (_, index) => controllable(started, `big-${index}`));
    const small = Array.from({ length: 2 }, (_, index) => controllable(started, `small-${index}`));
    const all = [
      ...big.map((entry) => limiter.run(entry.task, { key: 'big' })),
      ...small.map((entry) => limiter.run(entry.task, { key: 'small' })),
    ];
    for (let step = 0; step < 8; step += 1) {
      await flush();
      [...big, ...small].forEach((entry) => entry.finish());
    }
    await Promise.all(all);
    expect(started.slice(0, 4)).toEqual(['big-0', 'small-0', 'big-1', 'small-1']);
    expect(started).toHaveLength(8);
  });

  it('takes an aborted task out of the line without running it', async () => {
    const limiter = new UpstreamLimiter(1);
    const started: string[] = [];
    const first = controllable(started, 'first');
    const running = limiter.run(first.task);
    const abort = new AbortController();
    const waiting = limiter.run(async () => 'never', { signal: abort.signal });
    abort.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(limiter.pendingCount).toBe(0);
    first.finish();
    await running;
  });

  it('lowers its limit to what the upstream carried when it said no, and raises it again after successes', async () => {
    const limiter = new UpstreamLimiter(8);
    const started: string[] = [];
    const tasks = Array.from({ length: 4 }, (_, index) => controllable(started, `t${index}`));
    const runs = tasks.map((entry) => limiter.run(entry.task));
    await flush();
    // Inside the fourth task's slot: three others in flight.
    limiter.recordOverload();
    expect(limiter.concurrency).toBe(3);
    limiter.recordOverload();
    expect(limiter.concurrency).toBe(2);
    tasks.forEach((entry) => entry.finish());
    await Promise.all(runs);
    for (let success = 0; success < 4; success += 1) limiter.recordSuccess();
    expect(limiter.concurrency).toBe(3);
  });

  it('reports how long each task waited for its slot', async () => {
    const waits: number[] = [];
    const limiter = new UpstreamLimiter(1, (milliseconds) => waits.push(milliseconds));
    await Promise.all([limiter.run(async () => flush()), limiter.run(async () => flush())]);
    expect(waits).toHaveLength(2);
    expect(waits.every((wait) => wait >= 0)).toBe(true);
  });

  it('checks its argument', () => {
    expect(() => new UpstreamLimiter(0)).toThrow(TypeError);
  });
});
