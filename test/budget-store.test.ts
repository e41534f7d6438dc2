import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BudgetSettings, DEFAULT_BUDGET_SETTINGS } from '../src/generation/upstream-budget.js';
import { type BudgetStore, MemoryBudgetStore } from '../src/generation/upstream-limiter.js';
import { RedisBudgetStore } from '../src/jobs/redis-budget-store.js';
import { deleteKeys, describeWithRedis, testRedisUrl, uniquePrefix } from './support/redis.js';

const T0 = 1_800_000_000_000;
const settingsFor = (maxConcurrency: number): BudgetSettings => ({ ...DEFAULT_BUDGET_SETTINGS, maxConcurrency });

/** What every budget store promises the limiter: the in-process one and the one replicas share in Redis. */
function budgetStoreContract(open: (settings: BudgetSettings) => BudgetStore) {
  it('lets nothing out before a 429’s retry-after has passed, then lets requests out again', async () => {
    const store = open(settingsFor(4));
    const first = await store.take(T0);
    if (!first.granted) throw new Error('expected a grant');
    const { addedPauseMs } = await store.settle(first.grant, { kind: 'refused', retryAfterMs: 2_000 }, T0 + 10);
    expect(addedPauseMs).toBe(2_000);
    expect(await store.take(T0 + 1_000)).toMatchObject({ granted: false, reason: 'paused', retryInMs: 1_010 });
    expect((await store.take(T0 + 2_010)).granted).toBe(true);
    expect(store.snapshot().pausedUntil).toBe(T0 + 2_010);
  });

  it('holds requests in flight to the concurrency limit and frees a slot when one is settled', async () => {
    const store = open(settingsFor(2));
    const grants = [await store.take(T0), await store.take(T0 + 1)];
    expect(grants.every((answer) => answer.granted)).toBe(true);
    expect(await store.take(T0 + 2)).toMatchObject({ granted: false, reason: 'concurrency' });
    const [first] = grants;
    if (!first?.granted) throw new Error('expected a grant');
    await store.settle(first.grant, { kind: 'success' }, T0 + 3);
    expect((await store.take(T0 + 4)).granted).toBe(true);
  });
}

describe('the in-process budget store: the contract every budget store keeps', () => {
  budgetStoreContract((settings) => new MemoryBudgetStore(settings, T0));
});

describeWithRedis('the Redis budget store', () => {
  const prefix = uniquePrefix('budget');
  const connections: Redis[] = [];
  let cleaner: Redis;
  const url = testRedisUrl(11) as string;
  const stores: RedisBudgetStore[] = [];
  const open = (
    settings: BudgetSettings,
    key = `${prefix}:${Math.random()}`,
    leaseMs = 60_000,
    presenceMs = 10_000,
  ) => {
    const redis = new Redis(url);
    connections.push(redis);
    const store = new RedisBudgetStore({ redis, key, settings, leaseMs, presenceMs });
    stores.push(store);
    return store;
  };
  beforeAll(() => {
    cleaner = new Redis(url);
  });
  afterAll(async () => {
    for (const store of stores) store.close();
    await deleteKeys(cleaner, prefix);
    for (const redis of [...connections, cleaner]) redis.disconnect();
  });

  budgetStoreContract((settings) => open(settings));

  it('is one budget for every replica: a 429 met by one pauses the other, and their requests share the limit', async () => {
    const key = `${prefix}:shared`;
    const [a, b] = [open(settingsFor(2), key), open(settingsFor(2), key)];
    const onA = await a.take(T0);
    expect((await b.take(T0 + 1)).granted).toBe(true);
    expect(await a.take(T0 + 2)).toMatchObject({ granted: false, reason: 'concurrency' });
    if (!onA.granted) throw new Error('expected a grant');
    await a.settle(onA.grant, { kind: 'refused', retryAfterMs: 1_000 }, T0 + 5);
    expect(await b.take(T0 + 500)).toMatchObject({ granted: false, reason: 'paused' });
  });

  it('gives back the slots of a replica that died holding them once their lease lapses, and only once', async () => {
    const key = `${prefix}:lease`;
    const dead = open(settingsFor(1), key, 1_000);
    const alive = open(settingsFor(1), key, 1_000);
    const held = await dead.take(T0);
    expect(await alive.take(T0 + 500)).toMatchObject({ granted: false, reason: 'concurrency' });
    const after = await alive.take(T0 + 1_001);
    expect(after.granted).toBe(true);
    // The dead replica's late settle (it was only slow) must not free the slot a second time.
    if (!held.granted) throw new Error('expected a grant');
    await dead.settle(held.grant, { kind: 'success' }, T0 + 1_002);
    expect(await alive.take(T0 + 1_003)).toMatchObject({ granted: false, reason: 'concurrency' });
  });

  it('gives back the slots of a replica that stopped renewing its presence, without waiting for the lease', async () => {
    const key = `${prefix}:presence`;
    const dead = open(settingsFor(1), key, 60_000, 300);
    const alive = open(settingsFor(1), key, 60_000, 300);
    expect((await dead.take(T0)).granted).toBe(true);
    expect(await alive.take(T0 + 1)).toMatchObject({ granted: false, reason: 'concurrency' });
    dead.close();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await alive.take(T0 + 2)).granted).toBe(true);
  });

  it('answers many replicas racing for the budget with no more grants than the limit', async () => {
    const key = `${prefix}:race`;
    const stores = Array.from({ length: 4 }, () => open(settingsFor(3), key));
    const answers = await Promise.all(stores.flatMap((store) => [store.take(T0), store.take(T0)]));
    expect(answers.filter((answer) => answer.granted)).toHaveLength(3);
  });
});
