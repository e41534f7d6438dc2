/**
 * What normalized caches need to know about this API's types that have no `id`: they are values that belong to the
 * object holding them (a job's stats, an image's dimensions, an event's progress), never entities shared between
 * objects. `GenerationJob` and `ImageResult` have ids unique across jobs and need nothing.
 */
const VALUE_TYPES = ['GenerationStats', 'Dimensions', 'Progress', 'ImageError', 'GenerationEvent'] as const;

export type ValueTypeName = (typeof VALUE_TYPES)[number];

/**
 * For Apollo Client's InMemoryCache: `new InMemoryCache({ typePolicies: apolloTypePolicies })`. A newer answer's
 * stats (or dimensions, progress, error) are merged into the older ones, so two operations that select different
 * fields of them keep both, and Apollo has no reason to warn that cache data may be lost.
 */
export const apolloTypePolicies: Readonly<Record<ValueTypeName, { readonly merge: true }>> = Object.fromEntries(
  VALUE_TYPES.map((name) => [name, { merge: true }]),
) as Record<ValueTypeName, { merge: true }>;

/**
 * For urql's graphcache: `cacheExchange({ keys: graphcacheKeys })`. A key of null embeds the value in its parent;
 * without it graphcache warns "Invalid key" for each of these types.
 */
export const graphcacheKeys: Readonly<Record<ValueTypeName, () => null>> = Object.fromEntries(
  VALUE_TYPES.map((name) => [name, () => null]),
) as Record<ValueTypeName, () => null>;
