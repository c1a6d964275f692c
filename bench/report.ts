/**
 * Medians, ratios and the targets of the performance issue, rendered as one plain-text table; with a previous run's
 * medians, this run's over them, figure by figure.
 *
 * @module
 */
import type { Pinning } from "./pin.ts";

/** Raw values: figure -> server -> one value per run. */
export type Measurements = Record<string, Record<string, number[]>>;
/** figure -> server -> median. */
export type Medians = Record<string, Record<string, number>>;

/** What each figure is, and which way is better. */
const FIGURES: readonly { key: string; label: string; higherIsBetter: boolean; digits: number }[] = [
  { key: "tput_1_gbps", label: "tput 1 tunnel, Gbps", higherIsBetter: true, digits: 2 },
  { key: "tput_8_gbps", label: "tput 8 tunnels, Gbps", higherIsBetter: true, digits: 2 },
  { key: "rate_per_s", label: "tunnels/s, 16 concurrent", higherIsBetter: true, digits: 0 },
  { key: "rate_p50_ms", label: "  p50 ms", higherIsBetter: false, digits: 3 },
  { key: "rate_p99_ms", label: "  p99 ms", higherIsBetter: false, digits: 3 },
  { key: "rate_failures", label: "  failures", higherIsBetter: false, digits: 0 },
  { key: "latency_p50_ms", label: "handshake p50 ms, 1 conc.", higherIsBetter: false, digits: 3 },
  { key: "http_rate_per_s", label: "HTTP CONNECT tunnels/s, 16", higherIsBetter: true, digits: 0 },
  { key: "http_rate_p50_ms", label: "  p50 ms", higherIsBetter: false, digits: 3 },
  { key: "fwd_rate_per_s", label: "HTTP GET forwards/s, 16", higherIsBetter: true, digits: 0 },
  { key: "fwd_rate_p50_ms", label: "  p50 ms", higherIsBetter: false, digits: 3 },
  { key: "idle_kb_per_tunnel", label: "KB per idle tunnel", higherIsBetter: false, digits: 1 },
  { key: "flood_rss_mb", label: "MB over baseline after flood", higherIsBetter: false, digits: 1 },
  { key: "cpu_s_per_gib", label: "CPU s per GiB relayed", higherIsBetter: false, digits: 3 },
];

const PEERS = ["microsocks", "dante", "socksv5"] as const;
const TABIS = ["tabi-deno", "tabi-bun", "tabi-node"] as const;
/** tabi with `--workers 2` and `--workers auto` (bench/servers.ts): columns of their own, no targets. */
const WORKER_TABIS = ["-w2", "-wauto"].flatMap((suffix) => TABIS.map((t) => `${t}${suffix}`));
/** Each runtime's floor (bench/servers.ts): the same tunnels with nothing of tabi's. */
const BARES = ["bare-deno", "bare-bun", "bare-node"] as const;
const bareOf = (tabi: string) => `bare-${tabi.split("-")[1]}`;
/** Each runtime's streams floor (bench/servers.ts, asked for by name): the bare server's work on tabi's own I/O. */
const STREAMS = ["streams-deno", "streams-bun", "streams-node"] as const;
const streamsOf = (tabi: string) => `streams-${tabi.split("-")[1]}`;
const COLUMNS: readonly string[] = ["direct", ...PEERS, ...TABIS, ...BARES, ...STREAMS, ...WORKER_TABIS];

/** The median of each figure for each server. */
export function medians(measurements: Measurements): Medians {
  const result: Medians = {};
  for (const [figure, byServer] of Object.entries(measurements)) {
    result[figure] = {};
    for (const [server, values] of Object.entries(byServer)) {
      const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
      if (sorted.length === 0) continue;
      const mid = sorted.length >> 1;
      result[figure][server] = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
  }
  return result;
}

/** The best peer's name and value for a figure (only peers measured). */
function bestPeer(figure: string, table: Medians): { name: string; value: number } | undefined {
  const spec = FIGURES.find((f) => f.key === figure)!;
  let best: { name: string; value: number } | undefined;
  for (const peer of PEERS) {
    const value = table[figure]?.[peer];
    if (value === undefined) continue;
    if (!best || (spec.higherIsBetter ? value > best.value : value < best.value)) best = { name: peer, value };
  }
  return best;
}

const pad = (text: string, width: number) => text.padStart(width);
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? "-" : `${(a / b).toFixed(2)}x`;

/** The runtime of a tabi kind (`tabi-node-w2` -> `node`). */
const runtimeOf = (tabi: string) => tabi.split("-")[1];

/**
 * The targets of the performance issue (issue 28), per runtime. Ratios are tabi's median over the reference's (its
 * runtime's bare server, microsocks, the best peer); bounds in KB and MB are absolute. Never asserted by a test.
 */
export const TARGETS = {
  /** tunnels/s at 16 clients: at least this share of the runtime's floor, and of microsocks on the same core. */
  rateOverFloor: 0.9,
  rateOverMicrosocks: { deno: 1, bun: 1, node: 0.8 } as Record<string, number>,
  /** Handshake p50 with one client: at most this multiple of the floor's, and of microsocks's. */
  latencyOverFloor: 1.1,
  latencyOverMicrosocks: { deno: 1.1, bun: 1.1, node: 1.3 } as Record<string, number>,
  /** One tunnel's throughput: at least this multiple of the best peer's. */
  tputOverBestPeer: { deno: 1.25, bun: 1.25, node: 0.75 } as Record<string, number>,
  /** RSS per idle tunnel, KB, at most. */
  idleKb: { deno: 12, bun: 12, node: 16 } as Record<string, number>,
  /** RSS over the baseline after the flood, MB, at most. */
  floodMb: 30,
} as const;

const fixed = (value: number | undefined, digits: number) => value === undefined ? "-" : value.toFixed(digits);

/**
 * The targets, each checked against the medians and printed with its own ratio (`ok`, `MISS`, or `?` when a side was
 * not measured), then the figures with no fixed bound (`info`): CPU per GiB, HTTP CONNECT, HTTP forwarding, workers.
 */
export function targets(table: Medians, options: { pinned?: boolean } = {}): string[] {
  const lines: string[] = [];
  const line = (status: string, tabi: string, text: string) =>
    lines.push(`  ${status.padEnd(4)}  ${tabi.padEnd(9)} ${text}`);
  const verdict = (pass: boolean | undefined) => pass === undefined ? "?" : pass ? "ok" : "MISS";
  /**
   * tabi's value over `reference`'s against `bound`; with `bare`, the bare server's ratio beside it. Nothing when tabi's
   * figure was not measured (not asked for), `?` when the reference's was not.
   */
  const relative = (
    tabi: string,
    label: string,
    figure: string,
    reference: string | undefined,
    bound: number,
    higherIsBetter: boolean,
    bare?: string,
  ) => {
    const row = table[figure] ?? {};
    const value = row[tabi];
    if (value === undefined) return; // The figure was not asked for (--figures).
    const against = reference === undefined ? undefined : row[reference];
    const known = against !== undefined && against !== 0;
    const share = known ? value / against : undefined;
    const pass = share === undefined ? undefined : higherIsBetter ? share >= bound : share <= bound;
    const bareShare = known && bare !== undefined && row[bare] !== undefined ? row[bare] / against : undefined;
    line(
      verdict(pass),
      tabi,
      `${label} ${higherIsBetter ? ">=" : "<="} ${bound.toFixed(2)}x ${reference ?? "best peer"}: ${
        share === undefined ? "not measured" : `${share.toFixed(2)}x`
      }${bareShare === undefined ? "" : ` (${bare}: ${bareShare.toFixed(2)}x)`}`,
    );
  };
  const absolute = (tabi: string, label: string, figure: string, bound: number, unit: string, digits: number) => {
    const value = table[figure]?.[tabi];
    if (value === undefined) return;
    const bare = table[figure]?.[bareOf(tabi)];
    line(
      verdict(value <= bound),
      tabi,
      `${label} <= ${bound}${unit}: ${value.toFixed(digits)}${unit}${
        bare !== undefined ? ` (${bareOf(tabi)}: ${bare.toFixed(digits)}${unit})` : ""
      }`,
    );
  };
  const measured = (server: string) => FIGURES.some((f) => table[f.key]?.[server] !== undefined);
  for (const tabi of TABIS.filter(measured)) {
    const runtime = runtimeOf(tabi);
    const bare = bareOf(tabi);
    relative(tabi, "tunnels/s (16 clients)", "rate_per_s", bare, TARGETS.rateOverFloor, true);
    relative(
      tabi,
      "tunnels/s (16 clients)",
      "rate_per_s",
      "microsocks",
      TARGETS.rateOverMicrosocks[runtime],
      true,
      bare,
    );
    relative(tabi, "handshake p50 (1 client)", "latency_p50_ms", bare, TARGETS.latencyOverFloor, false);
    relative(
      tabi,
      "handshake p50 (1 client)",
      "latency_p50_ms",
      "microsocks",
      TARGETS.latencyOverMicrosocks[runtime],
      false,
      bare,
    );
    relative(
      tabi,
      "tput 1 tunnel",
      "tput_1_gbps",
      bestPeer("tput_1_gbps", table)?.name,
      TARGETS.tputOverBestPeer[runtime],
      true,
      bare,
    );
    absolute(tabi, "KB per idle tunnel", "idle_kb_per_tunnel", TARGETS.idleKb[runtime], " KB", 1);
    absolute(tabi, "RSS after the flood over baseline", "flood_rss_mb", TARGETS.floodMb, " MB", 1);
  }
  // No fixed bound: "nothing else slower beyond noise", read against a previous run (--baseline) or the floor.
  for (const tabi of TABIS.filter(measured)) {
    const bare = bareOf(tabi);
    const cpu = table.cpu_s_per_gib ?? {};
    if (cpu[tabi] !== undefined) {
      const peer = bestPeer("cpu_s_per_gib", table);
      line(
        "info",
        tabi,
        `CPU s per GiB: ${fixed(cpu[tabi], 3)}; ${bare} ${fixed(cpu[bare], 3)} (${ratio(cpu[tabi], cpu[bare])})` +
          (peer ? `, best peer ${peer.name} ${fixed(peer.value, 3)} (${ratio(cpu[tabi], peer.value)})` : ""),
      );
    }
    /** `value; 1.23x what, 0.50x other` with the ratios whose both sides were measured. */
    const withRatios = (value: number, ...against: [number | undefined, string][]) => {
      const known = against.filter(([b]) => b !== undefined && b !== 0).map(([b, what]) =>
        `${ratio(value, b)} ${what}`
      );
      return `${fixed(value, 0)}${known.length > 0 ? `; ${known.join(", ")}` : ""}`;
    };
    const http = table.http_rate_per_s?.[tabi];
    if (http !== undefined) {
      const text = withRatios(
        http,
        [table.rate_per_s?.[tabi], "its SOCKS5 tunnels/s"],
        [table.rate_per_s?.[bare], `${bare}'s SOCKS5`],
      );
      line("info", tabi, `HTTP CONNECT tunnels/s, 16 clients: ${text}`);
    }
    const fwd = table.fwd_rate_per_s?.[tabi];
    if (fwd !== undefined) {
      line("info", tabi, `HTTP GETs forwarded/s, 16 clients: ${withRatios(fwd, [http, "its HTTP CONNECT tunnels/s"])}`);
    }
  }
  for (const workers of WORKER_TABIS.filter(measured)) {
    const single = workers.replace(/-w(2|auto)$/, "");
    const rate = table.rate_per_s?.[workers];
    if (rate === undefined) continue;
    const one = table.rate_per_s?.[single];
    line(
      "info",
      workers,
      `tunnels/s, 16 clients: ${fixed(rate, 0)}${
        one === undefined ? "" : `; ${ratio(rate, one)} ${single} (one process)`
      }`,
    );
  }
  lines.push("  (in parentheses: the runtime's bare server over the same reference, where it was measured)");
  lines.push("  (info: no fixed bound; compare with a previous run's JSON: --baseline FILE.json)");
  if (options.pinned && WORKER_TABIS.some(measured)) {
    lines.push(
      "  (workers: pinned to the server's one CPU with the rest, so they measure their overhead, not scale-out)",
    );
  }
  return lines;
}

/**
 * What TLS to the proxy costs (bench/run.ts `tls-rate`, `tls-tput`): per tabi runtime, SOCKS5 and HTTP CONNECT plain
 * and inside TLS (SOCKS over TLS, an HTTPS proxy), each with its TLS/plain ratio. Empty when not measured.
 */
function tlsSection(table: Medians): string[] {
  const rows = [["tunnels/s, 16 concurrent", "tls_rate", 0], ["tput 1 tunnel, Gbps", "tls_tput", 2]] as const;
  const measured = TABIS.filter((t) => rows.some(([, key]) => table[`${key}_socks5`]?.[t] !== undefined));
  if (measured.length === 0) return [];
  const width = 12;
  const out = [
    "",
    "TLS to the proxy (a full TLS handshake per tunnel, ECDSA P-256; ratios TLS over plain):",
    "figure".padEnd(27) + "runtime".padEnd(11) +
    ["socks5", "socks5+tls", "tls/plain", "http", "https", "tls/plain"].map((c) => pad(c, width)).join(""),
  ];
  for (const [label, key, digits] of rows) {
    for (const tabi of measured) {
      const value = (mode: string) => table[`${key}_${mode}`]?.[tabi];
      const show = (mode: string) => pad(value(mode)?.toFixed(digits) ?? "-", width);
      out.push(
        label.padEnd(27) + tabi.slice(5).padEnd(11) + show("socks5") + show("socks5_tls") +
          pad(ratio(value("socks5_tls"), value("socks5")), width) + show("http") + show("https") +
          pad(ratio(value("https"), value("http")), width),
      );
    }
  }
  out.push("(the peers, microsocks and Dante, have no TLS and no HTTP CONNECT: not measured here)");
  return out;
}

/** A previous run to compare with (bench/run.ts `--baseline FILE.json`): where it came from, and its medians. */
export interface Baseline {
  /** Its file, date and settings, as the section's heading shows them. */
  readonly label: string;
  readonly table: Medians;
  /** Differences in how the two runs were made (settings, pinning), printed under the heading. */
  readonly notes?: readonly string[];
}

/**
 * This run's median over the baseline's, for every figure measured in both and every server measured in both: the
 * tabi kinds first, then the others (direct, the peers, the floors), whose own ratios show how much the machine moved
 * between the two runs. Empty without a baseline.
 */
export function baselineSection(table: Medians, baseline: Baseline | undefined): string[] {
  if (!baseline) return [];
  const known = FIGURES.map((f) => f.key);
  const keys = [
    ...known,
    ...Object.keys(table).filter((key) => !known.includes(key)).sort(),
  ].filter((key) => table[key] && baseline.table[key]);
  const both = (server: string) =>
    keys.some((k) => table[k][server] !== undefined && baseline.table[k][server] !== undefined);
  const others = [...new Set([...COLUMNS, ...Object.keys(table).flatMap((k) => Object.keys(table[k])).sort()])];
  const columns = [
    ...[...TABIS, ...WORKER_TABIS].filter(both),
    ...others.filter((c) => !c.startsWith("tabi-") && both(c)),
  ];
  const out = ["", `against the baseline ${baseline.label}: this run's median over the baseline's`];
  for (const note of baseline.notes ?? []) out.push(`  (${note})`);
  if (columns.length === 0) return [...out, "  (no figure of any server was measured in both runs)"];
  const width = Math.max(11, ...columns.map((c) => c.length + 2));
  const labelWidth = 27;
  out.push("figure".padEnd(labelWidth) + columns.map((c) => pad(c, width)).join(""));
  for (const key of keys) {
    const label = FIGURES.find((f) => f.key === key)?.label ?? key;
    out.push(
      label.padEnd(labelWidth) + columns.map((c) => pad(ratio(table[key][c], baseline.table[key][c]), width)).join(""),
    );
  }
  out.push("(read with each row's sense: above 1.00x is better for rates and Gbps, worse for ms, KB, MB and CPU s;");
  out.push("the columns of servers tabi's change did not touch show how much the machine moved between the runs)");
  return out;
}

/** The report header's line on pinning (bench/run.ts `--pin`). */
export function pinningLine(pinning: Pinning | undefined): string {
  return pinning
    ? `pinned: every server (its threads and processes) on CPU ${pinning.server}; socksbench, its targets and the ` +
      `orchestrator on CPU ${pinning.load}`
    : "not pinned: the servers and the load generator share every CPU";
}

/** The whole report: settings, the table of medians with ratios, the targets, and the baseline's ratios. */
export function renderReport(
  table: Medians,
  context: {
    settings: Record<string, number>;
    versions: Record<string, string>;
    machine: string;
    pinning?: Pinning;
    baseline?: Baseline;
  },
): string {
  // Wide enough for the longest column name (tabi-deno-wauto) and its ratio headers, with two spaces before each.
  const width = Math.max(
    11,
    ...COLUMNS.filter((c) => FIGURES.some((f) => table[f.key]?.[c] !== undefined)).map((c) => c.length + 2),
  );
  const labelWidth = 27;
  const out: string[] = [];
  out.push(`tabi benchmark, ${new Date().toISOString().slice(0, 10)}; ${context.machine}`);
  out.push(Object.entries(context.versions).map(([k, v]) => `${k} ${v}`).join("; "));
  out.push(Object.entries(context.settings).map(([k, v]) => `${k}=${v}`).join(" ") + "; medians of runs");
  out.push(pinningLine(context.pinning));
  out.push("");
  const columns = COLUMNS.filter((c) => FIGURES.some((f) => table[f.key]?.[c] !== undefined));
  const tabis = [...TABIS, ...WORKER_TABIS].filter((t) => columns.includes(t));
  const bared = TABIS.filter((t) => columns.includes(t) && columns.includes(bareOf(t)));
  // With a streams floor: tabi over it, and it over the bare server (the handshake on WHATWG streams).
  const streamed = TABIS.filter((t) => columns.includes(t) && columns.includes(streamsOf(t)));
  const streamedBare = streamed.filter((t) => columns.includes(bareOf(t)));
  // Only the TLS figures measured (`--figures tls-rate,tls-tput`): their section alone.
  if (columns.length === 0) {
    return [...out, ...tlsSection(table).slice(1), ...baselineSection(table, context.baseline)].join("\n") + "\n";
  }
  out.push(
    "figure".padEnd(labelWidth) + columns.map((c) => pad(c, width)).join("") +
      tabis.map((t) => pad(`${t.slice(5)}/peer`, width)).join("") +
      tabis.map((t) => pad(`${t.slice(5)}/dir`, width)).join("") +
      bared.map((t) => pad(`${t.slice(5)}/bare`, width)).join("") +
      streamed.map((t) => pad(`${t.slice(5)}/strm`, width)).join("") +
      streamedBare.map((t) => pad(`s-${t.slice(5)}/bare`, width)).join(""),
  );
  for (const figure of FIGURES) {
    const row = table[figure.key];
    if (!row) continue;
    const best = bestPeer(figure.key, table);
    out.push(
      figure.label.padEnd(labelWidth) +
        columns.map((c) => pad(row[c] === undefined ? "-" : row[c].toFixed(figure.digits), width)).join("") +
        tabis.map((t) => pad(ratio(row[t], best?.value), width)).join("") +
        tabis.map((t) => pad(ratio(row[t], row.direct), width)).join("") +
        bared.map((t) => pad(ratio(row[t], row[bareOf(t)]), width)).join("") +
        streamed.map((t) => pad(ratio(row[t], row[streamsOf(t)]), width)).join("") +
        streamedBare.map((t) => pad(ratio(row[streamsOf(t)], row[bareOf(t)]), width)).join(""),
    );
  }
  out.push("");
  out.push(
    "ratios: tabi's median over the best peer's (peer), over direct (dir) and over its runtime's bare server (bare);",
  );
  if (streamed.length > 0) {
    out.push(
      "tabi's over its runtime's streams floor (strm), and the streams floor's over the bare server (s-*/bare);",
    );
  }
  out.push("read them with each row's sense.");
  out.push(...tlsSection(table));
  out.push("targets (issue 28):");
  out.push(...targets(table, { pinned: context.pinning !== undefined }));
  out.push(...baselineSection(table, context.baseline));
  return out.join("\n") + "\n";
}
