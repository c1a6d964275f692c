// bench/report.ts turns the bench's medians into the targets' verdicts and the before/after ratios of --baseline: a
// verdict on the wrong side of its bound, a ratio against the wrong reference or a runtime given another's bound would
// misreport a change, so the rendering is checked on hand-made tables whose every ratio is known.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { baselineSection, type Medians, medians, renderReport, TARGETS, targets } from "../../bench/report.ts";

/** One table with every figure the targets read, for tabi under Deno and Node and their references. */
function table(): Medians {
  return {
    rate_per_s: {
      microsocks: 1000,
      "tabi-deno": 1000,
      "bare-deno": 1100,
      "tabi-node": 790,
      "bare-node": 1000,
      "tabi-deno-w2": 1500,
    },
    latency_p50_ms: { microsocks: 0.2, "tabi-deno": 0.23, "bare-deno": 0.2, "tabi-node": 0.25, "bare-node": 0.3 },
    tput_1_gbps: { microsocks: 1, dante: 10, "tabi-deno": 12, "bare-deno": 11, "tabi-node": 8, "bare-node": 5 },
    idle_kb_per_tunnel: { "tabi-deno": 14, "bare-deno": 11.8, "tabi-node": 14 },
    flood_rss_mb: { "tabi-deno": 31, "tabi-node": 29.5 },
    cpu_s_per_gib: { dante: 1, socksv5: 3, "tabi-deno": 0.5, "bare-deno": 0.25 },
    http_rate_per_s: { "tabi-deno": 1100 },
    fwd_rate_per_s: { "tabi-deno": 550 },
  };
}

/** The target lines of one server, without the status column's padding. */
const linesOf = (lines: string[], server: string) =>
  lines.filter((line) => line.slice(8).startsWith(`${server} `)).map((line) => line.replace(/\s+/g, " ").trim());

describe("bench: report targets (issue 28)", () => {
  it("checks tunnels/s and handshake p50 against the runtime's floor and against microsocks, with each runtime's bounds", () => {
    const deno = linesOf(targets(table()), "tabi-deno");
    // 1000 / 1100 = 0.91x >= 0.90x; 1000 / 1000 = 1.00x >= 1.00x (met at the bound).
    assert.ok(deno.includes("ok tabi-deno tunnels/s (16 clients) >= 0.90x bare-deno: 0.91x"), deno.join("\n"));
    assert.ok(
      deno.includes("ok tabi-deno tunnels/s (16 clients) >= 1.00x microsocks: 1.00x (bare-deno: 1.10x)"),
      deno.join("\n"),
    );
    // 0.23 / 0.2 = 1.15x, over both 1.10x bounds.
    assert.ok(deno.includes("MISS tabi-deno handshake p50 (1 client) <= 1.10x bare-deno: 1.15x"), deno.join("\n"));
    assert.ok(
      deno.includes("MISS tabi-deno handshake p50 (1 client) <= 1.10x microsocks: 1.15x (bare-deno: 1.00x)"),
      deno.join("\n"),
    );
    const node = linesOf(targets(table()), "tabi-node");
    // Node: 790 / 1000 misses 0.9x of its floor and 0.8x of microsocks; 0.25 / 0.2 = 1.25x meets its 1.3x.
    assert.ok(node.includes("MISS tabi-node tunnels/s (16 clients) >= 0.90x bare-node: 0.79x"), node.join("\n"));
    assert.ok(
      node.includes("MISS tabi-node tunnels/s (16 clients) >= 0.80x microsocks: 0.79x (bare-node: 1.00x)"),
      node.join("\n"),
    );
    assert.ok(node.includes("ok tabi-node handshake p50 (1 client) <= 1.10x bare-node: 0.83x"), node.join("\n"));
    assert.ok(
      node.includes("ok tabi-node handshake p50 (1 client) <= 1.30x microsocks: 1.25x (bare-node: 1.50x)"),
      node.join("\n"),
    );
  });

  it("checks one tunnel against the best peer (Deno 1.25x, Node 0.75x) and memory against absolute bounds", () => {
    const deno = linesOf(targets(table()), "tabi-deno");
    const node = linesOf(targets(table()), "tabi-node");
    assert.ok(deno.includes("MISS tabi-deno tput 1 tunnel >= 1.25x dante: 1.20x (bare-deno: 1.10x)"), deno.join("\n"));
    assert.ok(node.includes("ok tabi-node tput 1 tunnel >= 0.75x dante: 0.80x (bare-node: 0.50x)"), node.join("\n"));
    assert.ok(deno.includes("MISS tabi-deno KB per idle tunnel <= 12 KB: 14.0 KB (bare-deno: 11.8 KB)"));
    assert.ok(node.includes("ok tabi-node KB per idle tunnel <= 16 KB: 14.0 KB"), node.join("\n"));
    assert.ok(deno.includes("MISS tabi-deno RSS after the flood over baseline <= 30 MB: 31.0 MB"));
    assert.ok(node.includes("ok tabi-node RSS after the flood over baseline <= 30 MB: 29.5 MB"));
    assert.deepEqual(TARGETS.idleKb, { deno: 12, bun: 12, node: 16 });
  });

  it("prints the figures with no bound as info lines: CPU per GiB, HTTP CONNECT, forwarding, workers", () => {
    const lines = targets(table(), { pinned: true });
    const deno = linesOf(lines, "tabi-deno");
    assert.ok(
      deno.includes("info tabi-deno CPU s per GiB: 0.500; bare-deno 0.250 (2.00x), best peer dante 1.000 (0.50x)"),
      deno.join("\n"),
    );
    assert.ok(
      deno.includes(
        "info tabi-deno HTTP CONNECT tunnels/s, 16 clients: 1100; 1.10x its SOCKS5 tunnels/s, 1.00x bare-deno's SOCKS5",
      ),
      deno.join("\n"),
    );
    assert.ok(
      deno.includes("info tabi-deno HTTP GETs forwarded/s, 16 clients: 550; 0.50x its HTTP CONNECT tunnels/s"),
      deno.join("\n"),
    );
    assert.ok(lines.some((l) => /info\s+tabi-deno-w2 tunnels\/s, 16 clients: 1500; 1\.50x tabi-deno/.test(l)));
    assert.ok(lines.some((l) => l.includes("workers: pinned")));
    assert.ok(!targets(table(), { pinned: false }).some((l) => l.includes("workers: pinned")));
    assert.ok(!lines.some((l) => /^\s+(ok|MISS)/.test(l) && /CPU|HTTP|w2/.test(l)), "no verdict on an info figure");
  });

  it("says `?` when a reference was not measured, and nothing for a figure not asked for", () => {
    const partial: Medians = { rate_per_s: { "tabi-bun": 900, "bare-bun": 1000 } };
    const bun = linesOf(targets(partial), "tabi-bun");
    assert.deepEqual(bun, [
      "ok tabi-bun tunnels/s (16 clients) >= 0.90x bare-bun: 0.90x",
      "? tabi-bun tunnels/s (16 clients) >= 1.00x microsocks: not measured",
    ]);
    // An info line names only the ratios it could compute.
    assert.deepEqual(linesOf(targets({ http_rate_per_s: { "tabi-bun": 990 } }), "tabi-bun"), [
      "info tabi-bun HTTP CONNECT tunnels/s, 16 clients: 990",
    ]);
    assert.deepEqual(linesOf(targets({ ...partial, http_rate_per_s: { "tabi-bun": 990 } }), "tabi-bun").slice(2), [
      "info tabi-bun HTTP CONNECT tunnels/s, 16 clients: 990; 1.10x its SOCKS5 tunnels/s, 0.99x bare-bun's SOCKS5",
    ]);
  });
});

describe("bench: report against a baseline (--baseline)", () => {
  it("gives this run's median over the baseline's for every figure and server in both, tabi first", () => {
    const before: Medians = {
      rate_per_s: { microsocks: 1000, "tabi-deno": 800, "tabi-node": 400, "bare-deno": 1000 },
      latency_p50_ms: { "tabi-deno": 0.5 },
      tls_rate_socks5: { "tabi-deno": 100 },
      idle_kb_per_tunnel: { "tabi-deno": 10 },
    };
    const now: Medians = {
      rate_per_s: { microsocks: 900, "tabi-deno": 1000, "bare-deno": 900 },
      latency_p50_ms: { "tabi-deno": 0.4 },
      tls_rate_socks5: { "tabi-deno": 150 },
      cpu_s_per_gib: { "tabi-deno": 1 },
    };
    const lines = baselineSection(now, { label: "old.json (2026-12-01)", table: before, notes: ["settings differ"] });
    assert.equal(lines[1], "against the baseline old.json (2026-12-01): this run's median over the baseline's");
    assert.equal(lines[2], "  (settings differ)");
    const header = lines[3].trim().split(/\s+/);
    // tabi-node's figures are in the baseline only: no column; the others after tabi, in the report's order.
    assert.deepEqual(header, ["figure", "tabi-deno", "microsocks", "bare-deno"]);
    const row = (label: string) => lines.find((l) => l.startsWith(label))?.slice(27).trim().split(/\s+/);
    assert.deepEqual(row("tunnels/s, 16 concurrent"), ["1.25x", "0.90x", "0.90x"]);
    assert.deepEqual(row("handshake p50 ms"), ["0.80x", "-", "-"]);
    assert.deepEqual(row("tls_rate_socks5"), ["1.50x", "-", "-"]);
    // Measured in one run only: no row.
    assert.equal(row("KB per idle tunnel"), undefined);
    assert.equal(row("CPU s per GiB"), undefined);
    assert.deepEqual(baselineSection(now, undefined), []);
  });

  it("the whole report says how the run was pinned and ends with the baseline's ratios", () => {
    const context = { settings: { runs: 1 }, versions: { deno: "x" }, machine: "2 cores" };
    const pinned = renderReport(table(), { ...context, pinning: { server: 0, load: 1 } });
    assert.match(pinned, /\npinned: every server \(its threads and processes\) on CPU 0; .* on CPU 1\n/);
    const loose = renderReport(table(), { ...context, baseline: { label: "b.json", table: table() } });
    assert.match(loose, /\nnot pinned: /);
    assert.match(loose, /against the baseline b\.json: /);
    assert.match(loose, /\ntunnels\/s, 16 concurrent\s+1\.00x\s+1\.00x/);
  });

  it("medians: the middle value, the mean of the middle two, non-finite values left out", () => {
    assert.deepEqual(medians({ f: { a: [3, 1, 2], b: [4, 1, 3, 2], c: [NaN, 5], d: [NaN] } }), {
      f: { a: 2, b: 2.5, c: 5 },
    });
  });
});
