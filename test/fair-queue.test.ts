import { describe, expect, it } from 'vitest';
import { FairQueue } from '../src/generation/fair-queue.js';

/**
 * The rules written as plainly as possible (the queue's first version, which scanned every tenant and job on each
 * turn): the tenant served longest ago goes first (never served counts as longest, ties in arrival order), then the
 * same among that tenant's jobs, then the job's items in order; turns of tenants and jobs that wait for nothing are
 * forgotten once they outnumber what waits.
 */
class ReferenceQueue<T> {
  private readonly tenants = new Map<string, Map<string, T[]>>();
  private readonly tenantServedAt = new Map<string, number>();
  private readonly jobServedAt = new Map<string, number>();
  private servings = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(tenant: string, job: string, item: T): void {
    let jobs = this.tenants.get(tenant);
    if (!jobs) {
      jobs = new Map();
      this.tenants.set(tenant, jobs);
    }
    const line = jobs.get(job);
    if (line) line.push(item);
    else jobs.set(job, [item]);
    this.count += 1;
  }

  remove(tenant: string, job: string, item: T): boolean {
    const jobs = this.tenants.get(tenant);
    const line = jobs?.get(job);
    const index = line?.indexOf(item) ?? -1;
    if (!jobs || !line || index < 0) return false;
    line.splice(index, 1);
    this.count -= 1;
    if (line.length === 0) jobs.delete(job);
    if (jobs.size === 0) this.tenants.delete(tenant);
    return true;
  }

  shift(): T | undefined {
    const tenant = oldest(this.tenants.keys(), (name) => this.tenantServedAt.get(name));
    if (tenant === undefined) return undefined;
    const jobs = this.tenants.get(tenant) as Map<string, T[]>;
    const job = oldest(jobs.keys(), (name) => this.jobServedAt.get(JSON.stringify([tenant, name]))) as string;
    const line = jobs.get(job) as T[];
    const item = line.shift() as T;
    this.count -= 1;
    if (line.length === 0) jobs.delete(job);
    if (jobs.size === 0) this.tenants.delete(tenant);
    this.servings += 1;
    this.tenantServedAt.set(tenant, this.servings);
    this.jobServedAt.set(JSON.stringify([tenant, job]), this.servings);
    if (this.jobServedAt.size > 2 * this.count + 64) {
      const waiting = new Set<string>();
      for (const [name, waitingJobs] of this.tenants)
        for (const key of waitingJobs.keys()) waiting.add(JSON.stringify([name, key]));
      for (const key of this.jobServedAt.keys()) if (!waiting.has(key)) this.jobServedAt.delete(key);
    }
    if (this.tenantServedAt.size > 2 * this.tenants.size + 64) {
      for (const name of this.tenantServedAt.keys()) if (!this.tenants.has(name)) this.tenantServedAt.delete(name);
    }
    return item;
  }
}

function oldest(names: Iterable<string>, servedAt: (name: string) => number | undefined): string | undefined {
  let chosen: string | undefined;
  let oldestAt = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const at = servedAt(name) ?? -1;
    if (at < oldestAt) {
      oldestAt = at;
      chosen = name;
    }
  }
  return chosen;
}

/** A small deterministic generator (mulberry32), so that a failure replays. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Item {
  tenant: string;
  job: string;
  id: number;
}

describe('the fair queue', () => {
  it('takes turns across tenants, then across jobs, then in order', () => {
    const queue = new FairQueue<string>();
    for (let index = 0; index < 3; index += 1) queue.push('a', 'big', `big#${index}`);
    queue.push('a', 'small', 'small#0');
    queue.push('b', 'other', 'other#0');
    queue.push('b', 'other', 'other#1');
    const order = Array.from({ length: 6 }, () => queue.shift());
    expect(order).toEqual(['big#0', 'other#0', 'small#0', 'other#1', 'big#1', 'big#2']);
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });

  it('serves a job that comes back after its line emptied by when it was last served', () => {
    const queue = new FairQueue<string>();
    queue.push('t', 'early', 'early#0');
    queue.push('t', 'late', 'late#0');
    expect(queue.shift()).toBe('early#0');
    expect(queue.shift()).toBe('late#0');
    // Both served once; "early" longest ago, so it goes first whatever the order they come back in.
    queue.push('t', 'late', 'late#1');
    queue.push('t', 'early', 'early#1');
    queue.push('t', 'new', 'new#0');
    expect([queue.shift(), queue.shift(), queue.shift()]).toEqual(['new#0', 'early#1', 'late#1']);
  });

  it('picks exactly what the plain rules pick, over long random mixes of arrivals, removals and turns', () => {
    for (let seed = 1; seed <= 24; seed += 1) {
      const next = random(seed);
      const queue = new FairQueue<Item>();
      const reference = new ReferenceQueue<Item>();
      const waiting: Item[] = [];
      // Few tenants and jobs, so that names come back after their lines emptied; many steps, so that turns are forgotten.
      const tenants = 1 + Math.floor(next() * 4);
      const jobs = 2 + Math.floor(next() * 300);
      let id = 0;
      for (let step = 0; step < 2000; step += 1) {
        const roll = next();
        if (roll < 0.25) {
          const item = {
            tenant: `t${Math.floor(next() * tenants)}`,
            job: `j${Math.floor(next() * jobs)}`,
            id: id++,
          };
          const burst = 1 + Math.floor(next() * 4);
          for (let copy = 0; copy < burst; copy += 1) {
            const one = copy === 0 ? item : { ...item, id: id++ };
            queue.push(one.tenant, one.job, one);
            reference.push(one.tenant, one.job, one);
            waiting.push(one);
          }
        } else if (roll < 0.35 && waiting.length > 0) {
          const item = waiting[Math.floor(next() * waiting.length)] as Item;
          const removed = queue.remove(item.tenant, item.job, item);
          if (removed !== reference.remove(item.tenant, item.job, item)) expect.fail(`seed ${seed}, step ${step}`);
          waiting.splice(waiting.indexOf(item), 1);
          if (queue.remove(item.tenant, item.job, item)) expect.fail('removed an item that no longer waits');
        } else {
          const expected = reference.shift();
          const peeked = queue.peek();
          const shifted = queue.shift();
          // expect() on every step would cost most of the test's time; it reports the first difference only.
          if (peeked !== expected || shifted !== expected) {
            expect({ seed, step, peeked: peeked?.id, shifted: shifted?.id }).toEqual({
              seed,
              step,
              expected: expected?.id,
            });
          }
          if (expected) waiting.splice(waiting.indexOf(expected), 1);
        }
        if (queue.size !== reference.size)
          expect.fail(`seed ${seed}, step ${step}: size ${queue.size} vs ${reference.size}`);
      }
      expect([...queue.items()].sort((a, b) => a.id - b.id)).toEqual([...waiting].sort((a, b) => a.id - b.id));
    }
  });
});
