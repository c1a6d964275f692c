/**
 * `@tabi/socks/metrics`: a running server's counters (`SocksServer.metrics()`) in the Prometheus text format, and
 * the sum of several servers' snapshots (`tabi serve --workers` adds up its workers' this way).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./mod.ts";
 * import { formatPrometheus } from "./metrics.ts";
 * const server = await startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }] });
 * assert.match(formatPrometheus(server.metrics()), /^tabi_connections_active 0$/m);
 * await server.close();
 * ```
 *
 * @module
 */
export {
  formatPrometheus,
  HANDSHAKE_BUCKETS,
  type MetricsSnapshot,
  ServerMetrics,
  sumSnapshots,
} from "./lib/server/metrics.ts";
