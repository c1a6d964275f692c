/**
 * What a server counts for monitoring, and the Prometheus text format (version 0.0.4) of it. Counters live in one
 * {@link ServerMetrics} per server; a {@link MetricsSnapshot} is plain data, so that snapshots of several worker
 * processes can be sent over a pipe and summed ({@link sumSnapshots}) before they are formatted.
 *
 * @module
 */
import type { ConnectionRecord } from "./connection_record.ts";
import type { NameMapCounters } from "./name_map.ts";

/** Upper bounds of the handshake duration histogram, in seconds. */
export const HANDSHAKE_BUCKETS: readonly number[] = [
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

/** Outcomes that mean "refused" rather than "failed": counted in `tabi_refused_total` too. */
const REFUSAL_OUTCOMES: ReadonlySet<string> = new Set([
  "not-allowed",
  "auth-failed",
  "bad-proxy-header",
  "quota-exceeded",
]);

/** One user's counts (with `metricsPerUser`). */
export interface UserCounts {
  /** Bytes from the user's clients to destinations, by ended connections. */
  readonly up: number;
  /** Bytes from destinations to the user's clients, by ended connections. */
  readonly down: number;
  /** The user's refused requests by reason (`quota-exceeded`, `not-allowed`). */
  readonly refused: Readonly<Record<string, number>>;
}

/** The counters and gauges of one or more servers, as plain data. */
export interface MetricsSnapshot {
  /** Ended connections by `version command outcome` (space-separated; "none" where unknown). */
  readonly connections: Readonly<Record<string, number>>;
  /** Connections being served now. */
  readonly active: number;
  /** Bytes from clients to destinations, by ended connections. */
  readonly bytesUp: number;
  /** Bytes from destinations to clients, by ended connections. */
  readonly bytesDown: number;
  /** Handshakes per bucket of {@link HANDSHAKE_BUCKETS} (not cumulative), then the ones above the last bound. */
  readonly handshakeBuckets: readonly number[];
  /** The handshake durations added up, in seconds. */
  readonly handshakeSum: number;
  /** Refused connections by reason: a limit's name or an outcome. */
  readonly refused: Readonly<Record<string, number>>;
  /** UDP associations open now. */
  readonly udpActive: number;
  /** Per user (only with `metricsPerUser`: each user is a label value, so the operator chooses the cardinality). */
  readonly users?: Readonly<Record<string, UserCounts>>;
  /** The DNS port's name map, when there is one (`tabi serve --dns`). */
  readonly dns?: NameMapCounters;
}

/**
 * The counters of one server. The session reports each handshake and each ended connection; limits report each
 * refusal. Bytes are counted when a connection ends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPrometheus, ServerMetrics } from "./metrics.ts";
 * const metrics = new ServerMetrics();
 * metrics.connectionEnded({ client: "192.0.2.1:5", version: "5", command: "connect", outcome: "ok", bytesUp: 3, bytesDown: 4, durationMs: 1 });
 * const text = formatPrometheus(metrics.snapshot({ active: 0, udpActive: 0 }));
 * assert.match(text, /^tabi_connections_total\{version="socks5",command="connect",outcome="ok"\} 1$/m);
 * ```
 */
export class ServerMetrics {
  readonly #connections = new Map<string, number>();
  #bytesUp = 0;
  #bytesDown = 0;
  readonly #buckets: number[] = new Array(HANDSHAKE_BUCKETS.length + 1).fill(0);
  #handshakeSum = 0;
  readonly #refused = new Map<string, number>();
  readonly #users = new Map<string, { up: number; down: number; refused: Record<string, number> }>();
  /** Count bytes and refusals per user too (`metricsPerUser`); set by the server's options, at start and reload. */
  perUser = false;

  /** A handshake (greeting to complete request) took `seconds`. */
  handshake(seconds: number): void {
    let i = HANDSHAKE_BUCKETS.findIndex((bound) => seconds <= bound);
    if (i === -1) i = HANDSHAKE_BUCKETS.length;
    this.#buckets[i]++;
    this.#handshakeSum += seconds;
  }

  /** A connection ended with this record. */
  connectionEnded(record: ConnectionRecord): void {
    const version = record.method !== undefined
      ? "http"
      : record.version === undefined
      ? "none"
      : `socks${record.version}`;
    const key = `${version} ${record.command ?? "none"} ${record.outcome}`;
    this.#connections.set(key, (this.#connections.get(key) ?? 0) + 1);
    this.#bytesUp += record.bytesUp;
    this.#bytesDown += record.bytesDown;
    if (REFUSAL_OUTCOMES.has(record.outcome)) this.refused(record.outcome);
    if (this.perUser && record.user !== undefined) {
      let user = this.#users.get(record.user);
      if (user === undefined) this.#users.set(record.user, user = { up: 0, down: 0, refused: {} });
      user.up += record.bytesUp;
      user.down += record.bytesDown;
      if (REFUSAL_OUTCOMES.has(record.outcome)) user.refused[record.outcome] = (user.refused[record.outcome] ?? 0) + 1;
    }
  }

  /** A connection was refused for `reason` (a limit's name, or an outcome such as "not-allowed"). */
  refused(reason: string): void {
    this.#refused.set(reason, (this.#refused.get(reason) ?? 0) + 1);
  }

  /** The counters now, with the gauges the server knows. */
  snapshot(
    gauges: { readonly active: number; readonly udpActive: number; readonly dns?: NameMapCounters },
  ): MetricsSnapshot {
    return {
      ...(gauges.dns ? { dns: gauges.dns } : {}),
      connections: Object.fromEntries(this.#connections),
      active: gauges.active,
      bytesUp: this.#bytesUp,
      bytesDown: this.#bytesDown,
      handshakeBuckets: [...this.#buckets],
      handshakeSum: this.#handshakeSum,
      refused: Object.fromEntries(this.#refused),
      udpActive: gauges.udpActive,
      ...(this.#users.size > 0 ? { users: structuredClone(Object.fromEntries(this.#users)) } : {}),
    };
  }
}

/** An empty snapshot: what no server has counted. */
export function emptySnapshot(): MetricsSnapshot {
  return new ServerMetrics().snapshot({ active: 0, udpActive: 0 });
}

/**
 * Adds snapshots up (the workers of one `tabi serve`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emptySnapshot, sumSnapshots } from "./metrics.ts";
 * const one = { ...emptySnapshot(), active: 2, refused: { maxClients: 1 } };
 * assert.deepEqual(sumSnapshots([one, one]).refused, { maxClients: 2 });
 * ```
 */
export function sumSnapshots(snapshots: readonly MetricsSnapshot[]): MetricsSnapshot {
  const addMaps = (maps: readonly Readonly<Record<string, number>>[]) => {
    const out: Record<string, number> = {};
    for (const map of maps) for (const [k, v] of Object.entries(map)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const sum = (pick: (s: MetricsSnapshot) => number) => snapshots.reduce((n, s) => n + pick(s), 0);
  return {
    connections: addMaps(snapshots.map((s) => s.connections)),
    active: sum((s) => s.active),
    bytesUp: sum((s) => s.bytesUp),
    bytesDown: sum((s) => s.bytesDown),
    handshakeBuckets: HANDSHAKE_BUCKETS.concat([Infinity]).map((_, i) => sum((s) => s.handshakeBuckets[i] ?? 0)),
    handshakeSum: sum((s) => s.handshakeSum),
    refused: addMaps(snapshots.map((s) => s.refused)),
    udpActive: sum((s) => s.udpActive),
    ...sumUsers(snapshots),
  };
}

/** The per-user counts of several snapshots added up; nothing when none has any. */
function sumUsers(snapshots: readonly MetricsSnapshot[]): { users?: Record<string, UserCounts> } {
  const users: Record<string, { up: number; down: number; refused: Record<string, number> }> = {};
  for (const snapshot of snapshots) {
    for (const [name, counts] of Object.entries(snapshot.users ?? {})) {
      const into = users[name] ??= { up: 0, down: 0, refused: {} };
      into.up += counts.up;
      into.down += counts.down;
      for (const [reason, n] of Object.entries(counts.refused)) into.refused[reason] = (into.refused[reason] ?? 0) + n;
    }
  }
  return Object.keys(users).length > 0 ? { users } : {};
}

/** A label value in the text format: backslash, double quote and newline escaped. */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * Formats a snapshot in the Prometheus text exposition format, with HELP and TYPE lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emptySnapshot, formatPrometheus } from "./metrics.ts";
 * const text = formatPrometheus({ ...emptySnapshot(), active: 3 });
 * assert.match(text, /^# TYPE tabi_connections_active gauge\ntabi_connections_active 3$/m);
 * ```
 */
export function formatPrometheus(snapshot: MetricsSnapshot): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  family("tabi_connections_total", "counter", "Connections (HTTP: requests) ended, by protocol, command and outcome.");
  for (const [key, n] of Object.entries(snapshot.connections).sort()) {
    const [version, command, outcome] = key.split(" ");
    lines.push(
      `tabi_connections_total{version="${label(version)}",command="${label(command)}",outcome="${
        label(outcome)
      }"} ${n}`,
    );
  }
  family("tabi_connections_active", "gauge", "Connections being served now.");
  lines.push(`tabi_connections_active ${snapshot.active}`);
  family("tabi_bytes_total", "counter", "Bytes relayed by ended connections: up is client to destination.");
  lines.push(`tabi_bytes_total{direction="up"} ${snapshot.bytesUp}`);
  lines.push(`tabi_bytes_total{direction="down"} ${snapshot.bytesDown}`);
  family(
    "tabi_handshake_duration_seconds",
    "histogram",
    "Time from accept to a complete request (PROXY header, greeting, authentication, request).",
  );
  let cumulative = 0;
  HANDSHAKE_BUCKETS.forEach((bound, i) => {
    cumulative += snapshot.handshakeBuckets[i] ?? 0;
    lines.push(`tabi_handshake_duration_seconds_bucket{le="${bound}"} ${cumulative}`);
  });
  cumulative += snapshot.handshakeBuckets[HANDSHAKE_BUCKETS.length] ?? 0;
  lines.push(`tabi_handshake_duration_seconds_bucket{le="+Inf"} ${cumulative}`);
  lines.push(`tabi_handshake_duration_seconds_sum ${snapshot.handshakeSum}`);
  lines.push(`tabi_handshake_duration_seconds_count ${cumulative}`);
  family("tabi_refused_total", "counter", "Connections refused, by reason: a limit's name or an outcome.");
  for (const [reason, n] of Object.entries(snapshot.refused).sort()) {
    lines.push(`tabi_refused_total{reason="${label(reason)}"} ${n}`);
  }
  family("tabi_udp_associations_active", "gauge", "UDP associations open now.");
  lines.push(`tabi_udp_associations_active ${snapshot.udpActive}`);
  if (snapshot.users !== undefined) {
    const users = Object.entries(snapshot.users).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    family(
      "tabi_user_bytes_total",
      "counter",
      "Bytes relayed by a user's ended connections: up is client to destination.",
    );
    for (const [name, counts] of users) {
      lines.push(`tabi_user_bytes_total{user="${label(name)}",direction="up"} ${counts.up}`);
      lines.push(`tabi_user_bytes_total{user="${label(name)}",direction="down"} ${counts.down}`);
    }
    family("tabi_user_refused_total", "counter", "A user's refused requests, by reason (quota-exceeded, not-allowed).");
    for (const [name, counts] of users) {
      for (const [reason, n] of Object.entries(counts.refused).sort()) {
        lines.push(`tabi_user_refused_total{user="${label(name)}",reason="${label(reason)}"} ${n}`);
      }
    }
  }
  const dns = snapshot.dns;
  if (dns !== undefined) {
    family("tabi_dns_questions_total", "counter", "DNS messages the DNS port read.");
    lines.push(`tabi_dns_questions_total ${dns.questions}`);
    family("tabi_dns_mapped_names", "gauge", "Names the DNS port has mapped now.");
    lines.push(`tabi_dns_mapped_names ${dns.mapped}`);
    family("tabi_dns_evictions_total", "counter", "Mapped names dropped to make room (least recently used first).");
    lines.push(`tabi_dns_evictions_total ${dns.evictions}`);
    family("tabi_dns_refusals_total", "counter", "DNS messages answered with an error or dropped, by why.");
    for (const [reason, n] of Object.entries(dns.refusals).sort()) {
      lines.push(`tabi_dns_refusals_total{reason="${label(reason)}"} ${n}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
