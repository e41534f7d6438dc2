/**
 * Who goes next when the upstream has room: tenants take turns first (the one served longest ago, or never, goes
 * next), then that tenant's jobs take turns the same way, then a job's own items go in order. So one client's 600
 * one-image jobs cannot push back another client's 4-image batch, and one tenant's big batch cannot starve its own
 * small one either.
 */
export class FairQueue<T> {
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

  /** Takes `item` out wherever it waits; false when it was not waiting. */
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

  /** The item whose turn it is, left in place. */
  peek(): T | undefined {
    const choice = this.choose();
    return choice?.line[0];
  }

  /** Takes out the item whose turn it is. */
  shift(): T | undefined {
    const choice = this.choose();
    if (!choice) return undefined;
    const { tenant, job, line } = choice;
    const item = line.shift() as T;
    this.count -= 1;
    const jobs = this.tenants.get(tenant) as Map<string, T[]>;
    if (line.length === 0) jobs.delete(job);
    if (jobs.size === 0) this.tenants.delete(tenant);
    this.servings += 1;
    this.tenantServedAt.set(tenant, this.servings);
    this.jobServedAt.set(jobKey(tenant, job), this.servings);
    this.forgetIdle();
    return item;
  }

  /** Every waiting item, in no particular order. */
  *items(): IterableIterator<T> {
    for (const jobs of this.tenants.values()) for (const line of jobs.values()) yield* line;
  }

  private choose(): { tenant: string; job: string; line: T[] } | undefined {
    const tenant = oldest(this.tenants.keys(), (name) => this.tenantServedAt.get(name));
    if (tenant === undefined) return undefined;
    const jobs = this.tenants.get(tenant) as Map<string, T[]>;
    const job = oldest(jobs.keys(), (name) => this.jobServedAt.get(jobKey(tenant, name))) as string;
    return { tenant, job, line: jobs.get(job) as T[] };
  }

  /** Tenants and jobs with nothing waiting only matter while they are recent; forgetting old ones keeps maps small. */
  private forgetIdle(): void {
    if (this.jobServedAt.size > 2 * this.count + 64) {
      const waiting = new Set<string>();
      for (const [tenant, jobs] of this.tenants) for (const job of jobs.keys()) waiting.add(jobKey(tenant, job));
      for (const key of this.jobServedAt.keys()) if (!waiting.has(key)) this.jobServedAt.delete(key);
    }
    if (this.tenantServedAt.size > 2 * this.tenants.size + 64) {
      for (const tenant of this.tenantServedAt.keys())
        if (!this.tenants.has(tenant)) this.tenantServedAt.delete(tenant);
    }
  }
}

/** The name served longest ago (never served counts as longest), first in insertion order on a tie. */
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

function jobKey(tenant: string, job: string): string {
  return JSON.stringify([tenant, job]);
}
