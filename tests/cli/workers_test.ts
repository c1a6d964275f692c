/**
 * `tabi serve --workers 2 --metrics`: connections spread over both workers, `/metrics` (checked by Prometheus's
 * own promtool) adds them up, a worker killed with SIGKILL is replaced while the other serves, and SIGTERM drains
 * both while `/healthz` says 503.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import type { Listener } from "../../lib/net/network.ts";
import { boundSocks5 } from "../helpers/bound_client.ts";
import { echoServer, sleep } from "../helpers/net.ts";
import { cliCommandFor, requireTool, run } from "../helpers/process.ts";
import { startTabiServe, type TabiServe } from "../helpers/tabi_serve.ts";

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1));

/** Waits (up to 20 s) until `test` holds for the log. */
async function logShows(tabi: TabiServe, test: (log: string) => boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 20_000; waited += 50) {
    if (test(tabi.stderr())) return;
    await sleep(50);
  }
  throw new Error(`the log never showed ${what}:\n${tabi.stderr()}`);
}

const records = (log: string) =>
  log.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { worker?: number; outcome: string });

/** Makes `n` tunnels, each from its own 127.0.0.x, each echoing 3 bytes. */
async function tunnels(port: number, target: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const tunnel = await boundSocks5(port, `127.0.0.${10 + i}`, target);
    assert.equal(tunnel.reply, 0);
    assert.deepEqual([...(await tunnel.echo(new Uint8Array([7, 8, 9])))], [7, 8, 9]);
    tunnel.close();
  }
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return await response.text();
}

function okConnections(metrics: string): number {
  const match = /^tabi_connections_total\{version="socks5",command="connect",outcome="ok"\} (\d+)$/m.exec(metrics);
  return match ? Number(match[1]) : 0;
}

describe("tabi serve --workers 2", () => {
  let echo: Listener;
  let tabi: TabiServe;
  let metricsUrl: string;
  let pids: number[];

  before(async () => {
    await requireTool("promtool");
    echo = await echoServer();
    tabi = await startTabiServe(runtimeName(), [
      "--listen",
      "127.0.0.1:0",
      "--workers",
      "2",
      "--metrics",
      "127.0.0.1:0",
      "--log",
      "json",
      "--grace",
      "20",
    ]);
    await logShows(tabi, (log) => /metrics on http:\/\/\S+\/metrics/.test(log), "the metrics address");
    metricsUrl = /metrics on (http:\/\/\S+\/metrics)/.exec(tabi.stderr())![1];
    pids = /pids (\d+) (\d+)\)/.exec(tabi.stderr())!.slice(1).map(Number);
  });

  after(async () => {
    tabi?.kill("SIGKILL");
    for (const pid of pids ?? []) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone, as it should be.
      }
    }
    await tabi?.exited;
    await echo?.close();
  });

  it("spreads connections over both workers, and /metrics (promtool-clean) counts all of them", async () => {
    await tunnels(portOf(tabi.proxy), echo.address.port, 20);
    await logShows(tabi, (log) => records(log).length >= 20, "20 records");
    const byWorker = new Set(records(tabi.stderr()).map((r) => r.worker));
    assert.deepEqual([...byWorker].sort(), [0, 1], "records from each worker");
    const metrics = await scrape(metricsUrl);
    assert.equal(okConnections(metrics), 20);
    assert.match(metrics, /^tabi_bytes_total\{direction="up"\} 60$/m);
    assert.match(metrics, /^tabi_handshake_duration_seconds_count 20$/m);
    const check = await run("promtool", ["check", "metrics"], { input: new TextEncoder().encode(metrics) });
    assert.equal(check.code, 0, `promtool: ${check.stderr}${new TextDecoder().decode(check.stdout)}`);
    assert.equal((await fetch(metricsUrl.replace("/metrics", "/healthz"))).status, 200);
  });

  it("a worker killed with SIGKILL is replaced while the other keeps serving", async () => {
    process.kill(pids[0], "SIGKILL");
    await logShows(tabi, (log) => log.includes(`worker 0 (pid ${pids[0]}) exited (signal SIGKILL)`), "the exit");
    // The other worker serves meanwhile.
    await tunnels(portOf(tabi.proxy), echo.address.port, 3);
    await logShows(tabi, (log) => /worker 0 is back \(pid \d+\)/.test(log), "the replacement");
    const before = records(tabi.stderr()).filter((r) => r.worker === 0).length;
    await tunnels(portOf(tabi.proxy), echo.address.port, 20);
    await logShows(tabi, (log) => records(log).length >= 43, "43 records");
    assert.ok(records(tabi.stderr()).filter((r) => r.worker === 0).length > before, "the new worker 0 serves");
    // What the killed worker counted up to the last scrape is kept.
    assert.equal(okConnections(await scrape(metricsUrl)), 43);
    pids[0] = Number(/worker 0 is back \(pid (\d+)\)/.exec(tabi.stderr())![1]);
  });

  it("SIGTERM drains both workers; /healthz answers 503 meanwhile", async () => {
    const open = await boundSocks5(portOf(tabi.proxy), "127.0.0.99", echo.address.port);
    assert.equal(open.reply, 0);
    tabi.kill("SIGTERM");
    // Each worker hears SIGTERM or the end of its stdin from the main process (Deno's kill() closes it first).
    const draining = (i: number) => new RegExp(`worker ${i}: (SIGTERM|stdin closed)[^\n]*: no new connections`);
    await logShows(tabi, (log) => draining(0).test(log) && draining(1).test(log), "both draining");
    assert.equal((await fetch(metricsUrl.replace("/metrics", "/healthz"))).status, 503);
    // The open tunnel still works during the grace period.
    assert.deepEqual([...(await open.echo(new Uint8Array([4, 2])))], [4, 2]);
    open.close();
    const code = await tabi.exited;
    // Deno's child_process reports a child it signalled as killed (null) even when it exits by itself.
    assert.ok(code === 0 || (code === null && runtimeName() === "deno"), `exit code ${code}: ${tabi.stderr()}`);
    assert.match(tabi.stderr(), /^tabi \S+ \(\w+ \S+\): stopped; was listening on /m);
    assert.match(tabi.stderr(), /worker 0: stopped/);
    assert.match(tabi.stderr(), /worker 1: stopped/);
  });
});

/** The ids of the processes whose parent is `parent`. */
function childrenOf(parent: number): number[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      // Field 4 of /proc/PID/stat, after the command name in parentheses (which may hold spaces).
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent ? [Number(pid)] : [];
    } catch {
      return []; // Gone meanwhile.
    }
  });
}

/** Sends SIGHUP to `pid` every `everyMs` until `until` resolves (or 15 s pass); resolves with how many it sent. */
async function sighupStorm(pid: number, until: () => boolean, everyMs = 20): Promise<number> {
  let sent = 0;
  for (let waited = 0; waited < 15_000 && !until(); waited += everyMs) {
    try {
      process.kill(pid, "SIGHUP");
    } catch {
      break; // It is gone: the test says so.
    }
    sent++;
    await sleep(everyMs);
  }
  return sent;
}

describe("tabi serve --workers 2: SIGHUP while a worker starts", () => {
  it("a SIGHUP storm from the start and after a crash: no worker dies of it, the reload reaches each once ready, SIGTERM stops", async () => {
    const echo = await echoServer();
    const [command, prefix] = cliCommandFor(runtimeName());
    const args = ["serve", "--listen", "127.0.0.1:0", "--workers", "2", "--log", "json", "--grace", "5"];
    const child = spawn(command, [...prefix, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr.on("data", (chunk: Uint8Array) => (log += new TextDecoder().decode(chunk)));
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) =>
      child.on("close", (code) => {
        exitCode = code;
        resolve(code);
      })
    );
    const gone = () => exitCode !== undefined;
    let pids: number[] = [];
    try {
      // Both workers started, so the main process runs its signal handlers: storm it until it listens.
      // (No pause here: a worker that starts fast, as Bun's do on an idle machine, would be ready before the storm.)
      for (let waited = 0; childrenOf(child.pid!).length < 2 && !gone() && waited < 20_000; waited += 2) await sleep(2);
      // The whole line: stderr may bring it in pieces, and the port and pids are read from it next.
      const early = await sighupStorm(child.pid!, () => gone() || /listening on .*pids \d+ \d+\)/.test(log), 2);
      assert.ok(early > 0, `no SIGHUP was sent while the workers started: ${log}`);
      assert.equal(gone(), false, `the server stopped (exit ${exitCode}) after ${early} SIGHUPs at startup:\n${log}`);
      const listening = /listening on 127\.0\.0\.1:(\d+)/.exec(log);
      assert.ok(listening, `no listening line:\n${log}`);
      const port = Number(listening[1]);
      pids = /pids (\d+) (\d+)\)/.exec(log)!.slice(1).map(Number);
      // Each worker reloads once it is ready: the held SIGHUP is delivered, not lost.
      for (
        let waited = 0;
        !/worker 0: SIGHUP: reloaded/.test(log) || !/worker 1: SIGHUP: reloaded/.test(log);
        waited += 50
      ) {
        assert.ok(waited < 20_000, `a worker never reloaded:\n${log}`);
        await sleep(50);
      }
      await tunnels(port, echo.address.port, 2);
      // A crash, then a storm while its replacement starts.
      process.kill(pids[0], "SIGKILL");
      for (let waited = 0; !log.includes(`worker 0 (pid ${pids[0]}) exited`); waited += 20) {
        assert.ok(waited < 20_000, `the crash was not noticed:\n${log}`);
        await sleep(20);
      }
      await sighupStorm(child.pid!, () => gone() || /worker 0 is back/.test(log));
      assert.match(log, /worker 0 is back \(pid \d+\)/);
      pids[0] = Number(/worker 0 is back \(pid (\d+)\)/.exec(log)![1]);
      assert.doesNotMatch(log, /exited \(signal SIGHUP\)/);
      await tunnels(port, echo.address.port, 4);
      assert.equal(gone(), false, `exit ${exitCode}:\n${log}`);
      process.kill(child.pid!, "SIGTERM");
      const code = await exited;
      assert.ok(code === 0 || (code === null && runtimeName() === "deno"), `exit code ${code}:\n${log}`);
      assert.match(log, /^tabi \S+ \(\w+ \S+\): stopped; was listening on /m);
    } finally {
      for (const pid of [child.pid!, ...pids]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Already gone, as it should be.
        }
      }
      await exited;
      await echo.close();
    }
  });
});
