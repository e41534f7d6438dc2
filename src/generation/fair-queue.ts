/**
 * Who goes next when the upstream has room: tenants take turns first (the one served longest ago, or never, goes
 * next), then that tenant's jobs take turns the same way, then a job's own items go in order. So one client's 600
 * one-image jobs cannot push back another client's 4-image batch, and one tenant's big batch cannot starve its own
 * small one either.
 *
 * Every operation costs O(log n) in the waiting tenants or jobs (a heap of turns), not a scan of everything waiting:
 * the limiter takes one item per upstream request, with hundreds of jobs waiting under load.
 */
export class FairQueue<T> {
  /** tenant -> job -> its items, in order. */
  private readonly lines = new Map<string, Map<string, T[]>>();
  private readonly tenantTurns = new TurnOrder();
  /** Each tenant's jobs' turns; kept while the tenant waits or its jobs' turns are remembered. */
  private readonly jobTurns = new Map<string, TurnOrder>();
  /** Jobs whose last turn is remembered, over every tenant. */
  private rememberedJobs = 0;
  private servings = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(tenant: string, job: string, item: T): void {
    let jobs = this.lines.get(tenant);
    if (!jobs) {
      jobs = new Map();
      this.lines.set(tenant, jobs);
      this.tenantTurns.arrive(tenant);
    }
    const line = jobs.get(job);
    if (line) line.push(item);
    else {
      jobs.set(job, [item]);
      this.jobTurnsOf(tenant).arrive(job);
    }
    this.count += 1;
  }

  /** Takes `item` out wherever it waits; false when it was not waiting. */
  remove(tenant: string, job: string, item: T): boolean {
    const jobs = this.lines.get(tenant);
    const line = jobs?.get(job);
    const index = line?.indexOf(item) ?? -1;
    if (!jobs || !line || index < 0) return false;
    line.splice(index, 1);
    this.count -= 1;
    this.leaveIfEmpty(tenant, jobs, job, line);
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
    const { tenant, jobs, job, line } = choice;
    const item = line.shift() as T;
    this.count -= 1;
    this.leaveIfEmpty(tenant, jobs, job, line);
    this.servings += 1;
    this.tenantTurns.served(tenant, this.servings);
    const turns = this.jobTurnsOf(tenant);
    const remembered = turns.remembered;
    turns.served(job, this.servings);
    this.rememberedJobs += turns.remembered - remembered;
    this.forgetIdle();
    return item;
  }

  /** Every waiting item, in no particular order. */
  *items(): IterableIterator<T> {
    for (const jobs of this.lines.values()) for (const line of jobs.values()) yield* line;
  }

  private choose(): { tenant: string; jobs: Map<string, T[]>; job: string; line: T[] } | undefined {
    const tenant = this.tenantTurns.next();
    if (tenant === undefined) return undefined;
    const jobs = this.lines.get(tenant) as Map<string, T[]>;
    const job = this.jobTurnsOf(tenant).next() as string;
    return { tenant, jobs, job, line: jobs.get(job) as T[] };
  }

  private jobTurnsOf(tenant: string): TurnOrder {
    let turns = this.jobTurns.get(tenant);
    if (!turns) {
      turns = new TurnOrder();
      this.jobTurns.set(tenant, turns);
    }
    return turns;
  }

  private leaveIfEmpty(tenant: string, jobs: Map<string, T[]>, job: string, line: T[]): void {
    if (line.length > 0) return;
    jobs.delete(job);
    const turns = this.jobTurnsOf(tenant);
    turns.leave(job);
    if (jobs.size > 0) return;
    this.lines.delete(tenant);
    this.tenantTurns.leave(tenant);
    if (turns.remembered === 0) this.jobTurns.delete(tenant);
  }

  /** Tenants and jobs with nothing waiting only matter while they are recent; forgetting old ones keeps maps small. */
  private forgetIdle(): void {
    if (this.rememberedJobs > 2 * this.count + 64) {
      for (const [tenant, turns] of this.jobTurns) {
        this.rememberedJobs -= turns.forgetIdle();
        if (turns.remembered === 0 && !this.lines.has(tenant)) this.jobTurns.delete(tenant);
      }
    }
    if (this.tenantTurns.remembered > 2 * this.lines.size + 64) this.tenantTurns.forgetIdle();
  }
}

interface Turn {
  name: string;
  /** The serving that put this entry in the heap; stale once the name is served again, leaves or is forgotten. */
  at: number;
}

/**
 * Names taking turns: the one served longest ago goes next; names never served (or forgotten) go first, in the order
 * they arrived. Names served before wait in a binary heap by when they were last served; entries that went stale
 * (served again since, or left) are dropped when they reach the top, or when stale ones outnumber the live ones.
 */
class TurnOrder {
  private readonly waiting = new Set<string>();
  /** Waiting names never served (or forgotten), in arrival order. */
  private readonly fresh = new Set<string>();
  private readonly servedAt = new Map<string, number>();
  private heap: Turn[] = [];

  /** Names whose last turn is remembered. */
  get remembered(): number {
    return this.servedAt.size;
  }

  arrive(name: string): void {
    if (this.waiting.has(name)) return;
    this.waiting.add(name);
    const at = this.servedAt.get(name);
    if (at === undefined) this.fresh.add(name);
    else this.push({ name, at });
  }

  leave(name: string): void {
    this.waiting.delete(name);
    this.fresh.delete(name);
  }

  /** Whose turn it is, or undefined when nobody waits. */
  next(): string | undefined {
    for (const name of this.fresh) return name;
    const heap = this.heap;
    while (heap.length > 0) {
      const top = heap[0] as Turn;
      if (this.isLive(top)) return top.name;
      this.pop();
    }
    return undefined;
  }

  /** `name` had its turn as serving number `at` (higher than any before). */
  served(name: string, at: number): void {
    this.servedAt.set(name, at);
    this.fresh.delete(name);
    if (this.waiting.has(name)) this.push({ name, at });
  }

  /** Forgets when names that no longer wait were served; answers how many. */
  forgetIdle(): number {
    let forgotten = 0;
    for (const name of this.servedAt.keys()) {
      if (this.waiting.has(name)) continue;
      this.servedAt.delete(name);
      forgotten += 1;
    }
    return forgotten;
  }

  private isLive(turn: Turn): boolean {
    return this.waiting.has(turn.name) && this.servedAt.get(turn.name) === turn.at;
  }

  private push(turn: Turn): void {
    const heap = this.heap;
    if (heap.length > 2 * this.waiting.size + 64) this.compact();
    heap.push(turn);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((heap[parent] as Turn).at <= turn.at) break;
      heap[index] = heap[parent] as Turn;
      index = parent;
    }
    heap[index] = turn;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop() as Turn;
    if (heap.length === 0) return;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as Turn).at < (heap[left] as Turn).at ? right : left;
      if ((heap[child] as Turn).at >= last.at) break;
      heap[index] = heap[child] as Turn;
      index = child;
    }
    heap[index] = last;
  }

  /** Keeps one live entry per waiting name, so that a name leaving and coming back again and again costs no memory. */
  private compact(): void {
    const seen = new Set<string>();
    const live = this.heap.filter((turn) => {
      if (!this.isLive(turn) || seen.has(turn.name)) return false;
      seen.add(turn.name);
      return true;
    });
    this.heap = [];
    for (const turn of live.sort((a, b) => a.at - b.at)) this.heap.push(turn);
  }
}
