import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import { foldLabelValues } from './label-folding.js';

/** Distinct operation names (and error paths) kept as labels by default; later ones count as "other". */
export const DEFAULT_MAX_OPERATION_NAMES = 100;

/**
 * Yoga's Prometheus plugin, recording into `registry` under its usual `graphql_envelop_*` and `graphql_yoga_*`
 * names. Its own `/metrics` endpoint is off: the registry is served by `serveMetrics`, outside Yoga. The client-chosen
 * label values (operationName, and the error path, which aliases name) are folded into "other" beyond
 * `maxOperationNames` distinct ones, so no client can grow the series without bound.
 */
export function createGraphQLMetricsPlugin(
  registry: Registry,
  maxOperationNames: number = DEFAULT_MAX_OPERATION_NAMES,
): Plugin {
  const prometheus = usePrometheus({
    registry,
    endpoint: false,
    metrics: {
      graphql_envelop_request: true,
      graphql_envelop_request_duration: true,
      // Yoga caches parsed and validated documents, so these phases take microseconds for any operation seen
      // before, and a histogram each per operation is not worth its cost; a slow one still shows in
      // graphql_envelop_request_duration, and a failing one in graphql_envelop_error_result{phase}.
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_execute: true,
      graphql_envelop_phase_subscribe: true,
      graphql_envelop_error_result: true,
      // Walks every operation's document against the schema; the schema has no deprecated field to count.
      graphql_envelop_deprecated_field: false,
      graphql_envelop_schema_change: true,
      graphql_yoga_http_duration: true,
      // The same timings as graphql_envelop_request_duration, but a summary cannot be aggregated across instances.
      graphql_envelop_request_time_summary: false,
      // One series per field: for debugging only.
      graphql_envelop_execute_resolver: false,
    },
    labels: {
      // The full request URL, query string included: one series per distinct GET query.
      url: false,
    },
  });
  return {
    ...prometheus,
    onPluginInit(payload) {
      // The envelop plugin it adds creates its metrics here; they are folded as soon as they exist.
      prometheus.onPluginInit?.(payload);
      foldLabelValues(registry, ['operationName', 'path'], maxOperationNames);
    },
  };
}
