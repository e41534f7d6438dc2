import type { Registry } from 'prom-client';

/** The label value every name beyond the kept ones is counted under. */
export const OTHER_LABEL = 'other';
const LONGEST_VALUE = 64;

/**
 * Keeps the label sets of a registry's metrics bounded: for each of `labels`, the first `maxValues` distinct values
 * (of at most 64 characters) are kept as they are and every later one is counted as "other". Clients choose GraphQL
 * operation names (and alias paths) freely, so without this 20,000 distinct names make 20,000 series per metric,
 * which stay in memory for good and make each scrape slower.
 *
 * It wraps the observe, inc and labels methods of every metric already in the registry that has one of the labels;
 * call it once the metrics exist.
 */
export function foldLabelValues(registry: Registry, labels: readonly string[], maxValues: number): void {
  const kept = new Map(labels.map((label) => [label, new Set<string>()]));
  const fold = (values: Record<string, unknown>): Record<string, unknown> => {
    let folded: Record<string, unknown> | undefined;
    for (const [label, seen] of kept) {
      const value = values[label];
      if (value === undefined) continue;
      const text = String(value);
      if (seen.has(text)) continue;
      if (seen.size < maxValues && text.length <= LONGEST_VALUE) {
        seen.add(text);
        continue;
      }
      folded ??= { ...values };
      folded[label] = OTHER_LABEL;
    }
    return folded ?? values;
  };
  for (const metric of registry.getMetricsAsArray()) {
    const names = (metric as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
    if (!names.some((name) => kept.has(name))) continue;
    // prom-client's metric classes share these method names; each takes an optional label object first.
    const target = metric as unknown as Record<string, unknown>;
    for (const method of ['observe', 'inc', 'dec', 'set', 'labels', 'startTimer', 'remove']) {
      const original = target[method];
      if (typeof original !== 'function') continue;
      target[method] = function (this: unknown, first: unknown, ...rest: unknown[]) {
        const args = isLabelObject(first) ? [fold(first), ...rest] : [first, ...rest];
        return (original as (...args: unknown[]) => unknown).apply(this, args);
      };
    }
  }
}

function isLabelObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
