import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  GraphQLError,
  getOperationAST,
} from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

export interface SharedExecutionOptions {
  /** Results kept for sharing, across every subscription. Default 1000. */
  maxEntries?: number;
  /** Their total weight (string characters plus a little per value). Default 8 Mi. */
  maxWeight?: number;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * A subscription's selection is executed once per event for every subscriber: 200 subscribers to one job meant 200
 * executions of the same selection over the same event. This plugin executes it once per (event, document,
 * operation, variables, tenant, owner) and hands every subscriber with that key the same result, on WebSocket and SSE alike
 * (both subscribe through Yoga's envelop). Each subscriber still has its own source stream (a cursor over the job's
 * event log), so a late joiner replays from the first event and a slow one reads at its own pace; an event whose
 * result is no longer kept is simply executed again.
 *
 * What makes results shareable: an event is one object in the job store's log, seen by every follower, and the
 * progress resolvers read only the event, the arguments and who the caller is. Events are told apart by object
 * identity, so a new job under a reused id never meets an old job's results.
 *
 * The kept results are bounded in number and in weight. A result heavier than a quarter of the budget (one holding a
 * data URL of a large image, say) is shared by the subscribers of the burst that produced it and dropped right after,
 * so that the cache never keeps a job's images as strings beside the job's own bytes.
 */
export function useSharedSubscriptionExecution(options: SharedExecutionOptions = {}): Plugin {
  const results = new SharedResults(options.maxEntries ?? 1000, options.maxWeight ?? 8 * 1024 * 1024);
  const documentIds = new WeakMap<DocumentNode, number>();
  const eventIds = new WeakMap<object, number>();
  let lastId = 0;
  const idOf = <K extends object>(ids: WeakMap<K, number>, key: K): number => {
    let id = ids.get(key);
    if (id === undefined) {
      id = ++lastId;
      ids.set(key, id);
    }
    return id;
  };

  const subscribe = async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const caller = args.contextValue as { owner?: unknown; tenant?: unknown } | undefined;
    const key = JSON.stringify([
      typeof caller?.tenant === 'string' ? caller.tenant : null,
      typeof caller?.owner === 'string' ? caller.owner : null,
      idOf(documentIds, args.document),
      args.operationName ?? null,
      args.variableValues ?? null,
    ]);
    const operation = getOperationAST(args.document, args.operationName ?? undefined);
    const executeEvent = (event: unknown) => execute({ ...args, rootValue: event });
    return mapEvents(
      source[Symbol.asyncIterator](),
      (event) =>
        typeof event === 'object' && event !== null
          ? results.getOrRun(`${idOf(eventIds, event)}\u0000${key}`, () => executeEvent(event))
          : executeEvent(event),
      // As Yoga's executor reports an error from the event stream (a job that never appeared, say).
      (error) =>
        error instanceof Error
          ? new GraphQLError(error.message, { originalError: error, nodes: operation ? [operation] : [] })
          : error,
    );
  };

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as Parameters<typeof setSubscribeFn>[0]);
    },
  };
}

/** The source's events mapped to results, one at a time; return() reaches the source at once. */
function mapEvents(
  source: AsyncIterator<unknown>,
  map: (event: unknown) => MaybePromise<ExecutionResult>,
  wrapError: (error: unknown) => unknown,
): AsyncIterableIterator<ExecutionResult> {
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      let step: IteratorResult<unknown>;
      try {
        step = await source.next();
      } catch (error) {
        throw wrapError(error);
      }
      if (step.done) return { done: true, value: undefined };
      return { done: false, value: await map(step.value) };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

interface Kept {
  result: MaybePromise<ExecutionResult>;
  weight: number;
}

/** Results by key, oldest first, bounded in count and total weight. Exported for its tests. */
export class SharedResults {
  private readonly kept = new Map<string, Kept>();
  private totalWeight = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxWeight: number,
  ) {}

  get size(): number {
    return this.kept.size;
  }

  get weight(): number {
    return this.totalWeight;
  }

  getOrRun(key: string, run: () => MaybePromise<ExecutionResult>): MaybePromise<ExecutionResult> {
    const found = this.kept.get(key);
    if (found) return found.result;
    const result = run();
    const entry: Kept = { result, weight: 0 };
    this.kept.set(key, entry);
    if (result instanceof Promise) {
      result.then(
        (settled) => this.weigh(key, entry, settled),
        () => this.forget(key, entry),
      );
    } else {
      this.weigh(key, entry, result);
    }
    return result;
  }

  private weigh(key: string, entry: Kept, result: ExecutionResult): void {
    if (this.kept.get(key) !== entry) return;
    entry.weight = weightOf(result.data);
    this.totalWeight += entry.weight;
    if (entry.weight > this.maxWeight / 4) {
      // Shared with whoever asks during this turn (the subscribers woken by the same event), then let go.
      setImmediate(() => this.forget(key, entry));
    }
    while (this.kept.size > this.maxEntries || this.totalWeight > this.maxWeight) {
      const oldest = this.kept.keys().next();
      if (oldest.done) break;
      this.forget(oldest.value, this.kept.get(oldest.value) as Kept);
    }
  }

  private forget(key: string, entry: Kept): void {
    if (this.kept.get(key) !== entry) return;
    this.kept.delete(key);
    this.totalWeight -= entry.weight;
  }
}

/** Roughly what a result holds: the characters of its strings, plus a little for every other value. */
function weightOf(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (typeof value !== 'object' || value === null) return 8;
  let weight = 16;
  if (Array.isArray(value)) {
    for (const item of value) weight += weightOf(item);
  } else {
    for (const key in value) weight += key.length + weightOf((value as Record<string, unknown>)[key]);
  }
  return weight;
}
