/**
 * Medians, ratios and the targets of the performance issue, rendered as one plain-text table.
 *
 * @module
 */

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

/** Per runtime: the least tunnels/s as a share of microsocks's, and the most KB per idle tunnel (issue 17). */
const RATE_TARGET: Readonly<Record<string, number>> = { "tabi-deno": 1, "tabi-bun": 1, "tabi-node": 0.8 };
const IDLE_KB_TARGET: Readonly<Record<string, number>> = { "tabi-deno": 10, "tabi-bun": 10, "tabi-node": 16 };

/**
 * The targets of the performance issue, each checked against the medians, with tabi's ratio to the target itself
 * ("x target": at or above 1.00x is met for a floor, at or below 1.00x for a ceiling).
 */
function targets(table: Medians): string[] {
  const lines: string[] = [];
  const check = (
    what: string,
    tabi: string,
    value: number | undefined,
    bound: number | undefined,
    floor: boolean,
    bare?: number,
  ) => {
    const known = value !== undefined && bound !== undefined && bound !== 0;
    const pass = known ? (floor ? value >= bound : value <= bound) : undefined;
    const vsTarget = known ? `${(value / bound).toFixed(2)}x target` : "not measured";
    // What the runtime itself reaches on the same figure: a target its bare server misses is the runtime's.
    const floorNote = known && bare !== undefined ? ` (${bareOf(tabi)}: ${(bare / bound).toFixed(2)}x)` : "";
    lines.push(
      `${pass === undefined ? "  ?   " : pass ? "  ok  " : "  MISS"}  ${
        tabi.padEnd(9)
      } ${what}: ${vsTarget}${floorNote}`,
    );
  };
  for (const tabi of TABIS) {
    if (!FIGURES.some((f) => table[f.key]?.[tabi] !== undefined)) continue;
    const micro = (key: string) => table[key]?.microsocks;
    const tput = table.tput_1_gbps?.[tabi];
    const peerTput = bestPeer("tput_1_gbps", table);
    check(
      `tput 1 tunnel >= 1.25x best peer (${peerTput?.name ?? "-"})`,
      tabi,
      tput,
      peerTput && 1.25 * peerTput.value,
      true,
      table.tput_1_gbps?.[bareOf(tabi)],
    );
    const direct = table.tput_1_gbps?.direct;
    check("tput 1 tunnel >= 0.5x direct", tabi, tput, direct && 0.5 * direct, true, table.tput_1_gbps?.[bareOf(tabi)]);
    const rateMicro = micro("rate_per_s");
    check(
      `tunnels/s >= ${RATE_TARGET[tabi].toFixed(1)}x microsocks (one process)`,
      tabi,
      table.rate_per_s?.[tabi],
      rateMicro && RATE_TARGET[tabi] * rateMicro,
      true,
      table.rate_per_s?.[bareOf(tabi)],
    );
    const latencyMicro = micro("latency_p50_ms");
    check(
      "handshake p50 <= 1.2x microsocks",
      tabi,
      table.latency_p50_ms?.[tabi],
      latencyMicro && 1.2 * latencyMicro,
      false,
      table.latency_p50_ms?.[bareOf(tabi)],
    );
    check(
      `KB per idle tunnel <= ${IDLE_KB_TARGET[tabi]}`,
      tabi,
      table.idle_kb_per_tunnel?.[tabi],
      IDLE_KB_TARGET[tabi],
      false,
      table.idle_kb_per_tunnel?.[bareOf(tabi)],
    );
    check(
      "RSS after a flood (3,000 tunnels; --quick 1,000) <= 30 MB over baseline",
      tabi,
      table.flood_rss_mb?.[tabi],
      30,
      false,
      table.flood_rss_mb?.[bareOf(tabi)],
    );
    check(
      "CPU per GiB <= Node pipe() (socksv5)",
      tabi,
      table.cpu_s_per_gib?.[tabi],
      table.cpu_s_per_gib?.socksv5,
      false,
      table.cpu_s_per_gib?.[bareOf(tabi)],
    );
  }
  lines.push("  (tunnels/s >= 1.2x microsocks with --workers is the scale-out issue's, measured there)");
  lines.push("  (in parentheses: the runtime's bare server against the same target, where it was measured)");
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

/** The whole report: settings, the table of medians with ratios, and the targets. */
export function renderReport(
  table: Medians,
  context: { settings: Record<string, number>; versions: Record<string, string>; machine: string },
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
  out.push("");
  const columns = COLUMNS.filter((c) => FIGURES.some((f) => table[f.key]?.[c] !== undefined));
  const tabis = [...TABIS, ...WORKER_TABIS].filter((t) => columns.includes(t));
  const bared = TABIS.filter((t) => columns.includes(t) && columns.includes(bareOf(t)));
  // With a streams floor: tabi over it, and it over the bare server (the handshake on WHATWG streams).
  const streamed = TABIS.filter((t) => columns.includes(t) && columns.includes(streamsOf(t)));
  const streamedBare = streamed.filter((t) => columns.includes(bareOf(t)));
  // Only the TLS figures measured (`--figures tls-rate,tls-tput`): their section alone.
  if (columns.length === 0) return [...out, ...tlsSection(table).slice(1)].join("\n") + "\n";
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
  out.push("targets:");
  out.push(...targets(table));
  return out.join("\n") + "\n";
}
