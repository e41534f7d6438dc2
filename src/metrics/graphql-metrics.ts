import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';

/**
 * Yoga's Prometheus plugin, recording into `registry` under its usual `graphql_envelop_*` and `graphql_yoga_*`
 * names. Its own `/metrics` endpoint is off: the registry is served by `serveMetrics`, outside Yoga.
 */
export function createGraphQLMetricsPlugin(registry: Registry): Plugin {
  return usePrometheus({
    registry,
    endpoint: false,
    metrics: {
      graphql_envelop_request: true,
      graphql_envelop_request_duration: true,
      graphql_envelop_phase_parse: true,
      graphql_envelop_phase_validate: true,
      graphql_envelop_phase_context: true,
      graphql_envelop_phase_execute: true,
      graphql_envelop_phase_subscribe: true,
      graphql_envelop_error_result: true,
      graphql_envelop_deprecated_field: true,
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
}
