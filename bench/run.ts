/**
 * The benchmark: tabi under Deno, Bun and Node next to microsocks, Dante and npm socksv5, with `direct` (no proxy)
 * as the physical baseline, all measured with socksbench in the same run, interleaved (every figure visits every
 * server before the next figure starts), medians of RUNS runs. Prints one table and writes it, with the raw
 * figures as JSON, under bench/results/.
 *
 *   deno task bench [--runs 3] [--bytes 4294967296] [--idle 2000] [--only tabi-deno,microsocks] [--quick]
 *                   [--figures memory,flood,tput1,tput8,rate,latency,http-rate,fwd-rate,tls-rate,tls-tput]
 *                   [--pin | --no-pin] [--baseline bench/results/<time>.json]
 *
 * --pin (the default with 2 or more CPUs allowed to this process): every server under test (tabi in each runtime, its
 * `--workers` kinds included, the bare and streams floors, microsocks, Dante, socksv5), with all its threads and child
 * processes, runs on the first CPU this process may use (`taskset -c`), and the load generator (every socksbench run,
 * its sink, echo and httpd targets, and this orchestrator) on the last. A server's figures then say what it does with
 * one core of its own, a multi-threaded C server included; the workers kinds share that one core, so they measure what
 * workers cost, not what they gain. --no-pin lets the kernel place everything on every CPU, as before. The CPUs are
 * read from /proc/self/status (Cpus_allowed_list), so a run under `taskset -c 2,3` pins to 2 and 3; the report's
 * header says which were used.
 *
 * --baseline FILE.json: a previous run's JSON (bench/results/); the report ends with this run's median over that
 * run's for every figure and every server measured in both (tabi first; the peers and floors show how much the
 * machine moved), with a note where the two runs' settings or pinning differ.
 *
 * The orchestrator runs under any runtime (`bun bench/run.ts`, `npx tsx bench/run.ts`); the servers it measures
 * run under their own. Needs gcc, microsocks and danted (apt-get install gcc microsocks dante-server): they are test
 * peers, which `node scripts/install_peers.mjs` installs as root.
 *
 * `http-rate` (tunnels/s at 16 clients through HTTP CONNECT to the echo target) and `fwd-rate` (16 clients each
 * sending one absolute-form `GET http://TARGET/` per connection to socksbench's httpd, the response read whole) are
 * measured for the tabi kinds only: the peers and floors speak no HTTP. tabi's plain listener answers both by default.
 *
 * The TLS figures (`tls-rate`, `tls-tput`; only when `--figures` names them) measure tabi in one process under each
 * runtime through SOCKS5 and HTTP CONNECT, plain and inside TLS to the proxy (SOCKS over TLS, an HTTPS proxy): the
 * servers then serve a throwaway certificate made at start (bench/tls_cert.ts), and socksbench needs libssl-dev and
 * openssl. The peers have no TLS and are not measured for them.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { allowedCpus, choosePinning, pinProcess, strayThreads } from "./pin.ts";
import { type Baseline, type Measurements, medians, renderReport } from "./report.ts";
import { processTree, treeCpuSeconds, treeRss } from "./proc_stats.ts";
import { type BenchServer, startServers } from "./servers.ts";
import { startSocksbench } from "./socksbench.ts";
import { makeBenchCert } from "./tls_cert.ts";
import { findPeer, readPeers } from "../scripts/peers.mjs";

const absent = readPeers().filter((peer) =>
  ["gcc", "microsocks", "danted", "openssl", "/usr/include/openssl/ssl.h"].includes(peer.command)
)
  .filter((peer) => findPeer(peer.command) === undefined);
if (absent.length > 0) {
  const packages = absent.map((peer) => peer.pkg).join(" ");
  console.error(`bench: missing ${packages} (apt-get install ${packages}, or node scripts/install_peers.mjs as root)`);
  process.exit(1);
}

// tabi under Node runs as Node users run it: the npm bin, dist/tabi.mjs, built fresh from this tree.
execFileSync("node", ["scripts/build.mjs"], { stdio: "ignore" });

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    bytes: { type: "string", default: String(4 * 1024 ** 3) },
    idle: { type: "string", default: "2000" },
    only: { type: "string" },
    figures: { type: "string" },
    quick: { type: "boolean", default: false },
    // A boolean with its negation (--no-pin); unset, the default depends on the CPUs.
    pin: { type: "boolean" },
    baseline: { type: "string" },
  },
  allowNegative: true,
});
const runs = values.quick ? 1 : Number(values.runs);
const bytes = values.quick ? 512 * 1024 ** 2 : Number(values.bytes);
const idleTunnels = values.quick ? 500 : Number(values.idle);
const rateSeconds = values.quick ? 2 : 5;
const only = values.only ? values.only.split(",") : [];
const onlyFigures = values.figures ? values.figures.split(",") : [];

const cpus = allowedCpus();
const pinning = values.pin === false ? undefined : choosePinning(cpus);
if (values.pin && !pinning) {
  console.error(`bench: --pin needs 2 CPUs, and this process may use ${cpus.join(",")} only`);
  process.exit(1);
}
// The orchestrator itself goes to the load generator's CPU: its sampling and bookkeeping stay off the servers' core.
if (pinning) pinProcess(process.pid, pinning.load);

/** The flood of the memory target: this many tunnels at once, then RSS measured FLOOD_SETTLE_MS after they end. */
const floodTunnels = values.quick ? 1000 : 3000;
const FLOOD_SETTLE_MS = 5000;

/** One-tunnel bytes through TLS: a quarter of the plain figure's, since TLS is several times slower per byte. */
const tlsBytes = Math.round(bytes / 4);
/** The TLS figures compare these modes of socksbench (bench/socksbench.c), under these key suffixes. */
const TLS_MODES = [["s5", "socks5"], ["s5+tls", "socks5_tls"], ["http", "http"], ["https", "https"]] as const;
const tlsAsked = onlyFigures.some((key) => key.startsWith("tls-"));
const settings = { runs, bytes, idleTunnels, floodTunnels, rateSeconds, ...(tlsAsked ? { tlsBytes } : {}) };
// Read before the run, not after it: a wrong path should not cost a whole run.
const baseline = values.baseline ? readBaseline(values.baseline) : undefined;
const certDir = mkdtempSync(join(os.tmpdir(), "tabi-bench-cert-"));
const cert = tlsAsked ? makeBenchCert(certDir) : undefined;

const bench = await startSocksbench({ ca: cert?.ca, cpu: pinning?.load });
const measurements: Measurements = {};
const record = (figure: string, server: string, value: number) => {
  ((measurements[figure] ??= {})[server] ??= []).push(value);
};
const log = (text: string) => console.error(text);

/** The figures, each taken for every server in turn; memory first, while the servers are fresh. */
const figures: {
  key: string;
  name: string;
  /** Measured only when `--figures` names it. */
  optIn?: boolean;
  measure: (server: BenchServer) => Promise<void>;
}[] = [
  {
    key: "memory",
    name: `memory, ${idleTunnels} idle tunnels`,
    async measure(server) {
      if (!server.pid) return;
      const pid = server.pid;
      // Warm up first, so that compiling the code paths is not counted as tunnel memory.
      await bench.run(["rate", server.address, bench.echo, "4", "1"]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const before = treeRss(pid);
      let holding = 0;
      let opened = 0;
      // Sample 2 s into a 4 s hold: a garbage-collected server has settled by then.
      const result = await bench.idle(server.address, idleTunnels, 4, (open) => {
        opened = open;
        setTimeout(() => (holding = treeRss(pid)), 2000);
      });
      if (opened > 0) record("idle_kb_per_tunnel", server.name, (holding - before) / opened / 1000);
      if (result.failures || opened < idleTunnels) log(`  ${server.name}: ${opened} idle tunnels opened`);
    },
  },
  {
    key: "flood",
    name: `RSS after a flood of ${floodTunnels} tunnels`,
    async measure(server) {
      if (!server.pid) return;
      const pid = server.pid;
      await bench.run(["rate", server.address, bench.echo, "4", "1"]);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const before = treeRss(pid);
      await bench.idle(server.address, floodTunnels, 1, () => {});
      // The issue's bound: within 30 MB of the baseline once the flood has ended and the server had time to collect.
      await new Promise((resolve) => setTimeout(resolve, FLOOD_SETTLE_MS));
      record("flood_rss_mb", server.name, (treeRss(pid) - before) / 1e6);
    },
  },
  {
    key: "tput1",
    name: "tput, 1 tunnel",
    async measure(server) {
      const cpuBefore = server.pid ? treeCpuSeconds(server.pid) : 0;
      const result = await bench.run(["tput", server.address, bench.sink, String(bytes), "1"]);
      record("tput_1_gbps", server.name, result.tput_gbps);
      if (server.pid) {
        record("cpu_s_per_gib", server.name, (treeCpuSeconds(server.pid) - cpuBefore) / (bytes / 1024 ** 3));
      }
      if (result.failures) log(`  ${server.name}: ${result.failures} tput failures`);
    },
  },
  {
    key: "tput8",
    name: "tput, 8 tunnels",
    async measure(server) {
      const result = await bench.run(["tput", server.address, bench.sink, String(bytes), "8"]);
      record("tput_8_gbps", server.name, result.tput_gbps);
    },
  },
  {
    key: "rate",
    name: "rate, 16 concurrent",
    async measure(server) {
      const result = await bench.run(["rate", server.address, bench.echo, "16", String(rateSeconds)]);
      record("rate_per_s", server.name, result.rate_per_s);
      record("rate_p50_ms", server.name, result.p50_ms);
      record("rate_p99_ms", server.name, result.p99_ms);
      record("rate_failures", server.name, result.failures);
    },
  },
  {
    key: "latency",
    name: "handshake latency, 1 concurrent",
    async measure(server) {
      const result = await bench.run(["rate", server.address, bench.echo, "1", String(rateSeconds)]);
      record("latency_p50_ms", server.name, result.p50_ms);
    },
  },
  {
    key: "http-rate",
    name: "HTTP CONNECT: rate, 16 concurrent (tabi only)",
    async measure(server) {
      if (!server.http) return;
      const result = await bench.run(["rate", server.address, bench.echo, "16", String(rateSeconds), "http"]);
      record("http_rate_per_s", server.name, result.rate_per_s);
      record("http_rate_p50_ms", server.name, result.p50_ms);
      if (result.failures) log(`  ${server.name}: ${result.failures} HTTP CONNECT failures`);
    },
  },
  {
    key: "fwd-rate",
    name: "HTTP forwarding: one GET per connection, 16 concurrent (tabi only)",
    async measure(server) {
      if (!server.http) return;
      const result = await bench.run(["fwd", server.address, bench.httpd, "16", String(rateSeconds)]);
      record("fwd_rate_per_s", server.name, result.rate_per_s);
      record("fwd_rate_p50_ms", server.name, result.p50_ms);
      if (result.failures) log(`  ${server.name}: ${result.failures} forwarding failures`);
    },
  },
  {
    key: "tls-rate",
    name: "TLS: rate, 16 concurrent, SOCKS5 and HTTP CONNECT, plain and inside TLS",
    optIn: true,
    async measure(server) {
      if (!server.tls) return;
      for (const [mode, suffix] of TLS_MODES) {
        const result = await bench.run(["rate", server.address, bench.echo, "16", String(rateSeconds), mode]);
        record(`tls_rate_${suffix}`, server.name, result.rate_per_s);
        if (result.failures) log(`  ${server.name}: ${result.failures} ${mode} rate failures`);
      }
    },
  },
  {
    key: "tls-tput",
    name: `TLS: tput 1 tunnel of ${tlsBytes} bytes, SOCKS5 and HTTP CONNECT, plain and inside TLS`,
    optIn: true,
    async measure(server) {
      if (!server.tls) return;
      for (const [mode, suffix] of TLS_MODES) {
        const result = await bench.run(["tput", server.address, bench.sink, String(tlsBytes), "1", mode]);
        record(`tls_tput_${suffix}`, server.name, result.tput_gbps);
        if (result.failures) log(`  ${server.name}: ${result.failures} ${mode} tput failures`);
      }
    },
  },
];

/**
 * Says whether every thread of the servers' trees is still on the servers' CPU alone, and every thread of socksbench's
 * targets on the load CPU (the socksbench runs are gone by now; they are started the same way as the targets).
 */
function checkPinning(serverPids: number[]): void {
  const strayServers = strayThreads(serverPids, pinning!.server);
  const strayLoad = strayThreads(bench.targetPids, pinning!.load);
  if (strayServers.length + strayLoad.length === 0) {
    const threads = serverPids.map((pid) => threadCount(pid)).reduce((a, b) => a + b, 0);
    log(`  pinning held: ${serverPids.length} server processes (${threads} threads) on CPU ${pinning!.server} alone`);
  } else log(`  pinning did not hold for: ${[...strayServers, ...strayLoad].join("; ")}`);
}

function threadCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return 0;
  }
}

/** The previous run to compare with, its medians and what differs in how it was made. */
function readBaseline(file: string): Baseline {
  const previous = JSON.parse(readFileSync(file, "utf8"));
  const notes: string[] = [];
  const theirs: Record<string, number> = previous.settings ?? {};
  const differing = Object.keys({ ...theirs, ...settings }).filter((key) =>
    theirs[key] !== (settings as Record<string, number>)[key]
  );
  if (differing.length > 0) {
    notes.push(
      `settings differ: ${
        differing.map((key) =>
          `${key} ${theirs[key] ?? "-"} there, ${(settings as Record<string, number>)[key] ?? "-"} here`
        )
          .join(", ")
      }`,
    );
  }
  const theirPinning = previous.pinning ?? undefined;
  if (JSON.stringify(theirPinning) !== JSON.stringify(pinning)) {
    const show = (p?: { server: number; load: number }) => p ? `servers on CPU ${p.server}, load on ${p.load}` : "none";
    notes.push(`pinning differs: ${show(theirPinning)} there, ${show(pinning)} here`);
  }
  return {
    label: `${file} (${String(previous.date ?? "undated").slice(0, 19)})`,
    table: medians(previous.measurements ?? {}),
    notes,
  };
}

try {
  for (let run = 1; run <= runs; run++) {
    // Fresh servers every run: each run is independent, and idle memory is not blurred by an earlier run's garbage.
    const { servers, stop } = await startServers(only, cert, { cpu: pinning?.server });
    try {
      for (const figure of figures.filter((f) => onlyFigures.length === 0 ? !f.optIn : onlyFigures.includes(f.key))) {
        log(`run ${run}/${runs}: ${figure.name}`);
        for (const server of servers) await figure.measure(server);
      }
      if (pinning) checkPinning(servers.flatMap((server) => server.pid ? processTree(server.pid) : []));
    } finally {
      await stop();
    }
  }
} finally {
  bench.stop();
  rmSync(certDir, { recursive: true, force: true });
}

const versions = {
  deno: execFileSync("node_modules/.bin/deno", ["--version"], { encoding: "utf8" }).split("\n")[0],
  bun: execFileSync("node_modules/.bin/bun", ["--version"], { encoding: "utf8" }).trim(),
  node: execFileSync("node", ["--version"], { encoding: "utf8" }).trim(),
};
const machine = `${os.cpus().length} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, ${os.release()}`;
const report = renderReport(medians(measurements), { settings, versions, machine, pinning, baseline });
console.log(report);

const stamp = new Date().toISOString().replace(/[:]/g, "-").replace(/\..*/, "");
mkdirSync("bench/results", { recursive: true });
writeFileSync(`bench/results/${stamp}.txt`, report);
writeFileSync(
  `bench/results/${stamp}.json`,
  JSON.stringify(
    { date: new Date().toISOString(), machine, versions, settings, pinning: pinning ?? null, measurements },
    null,
    2,
  ) + "\n",
);
console.error(`written: bench/results/${stamp}.txt and .json`);
process.exit(0);
