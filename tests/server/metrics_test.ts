import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { emptySnapshot, formatPrometheus, ServerMetrics, sumSnapshots } from "../../lib/server/metrics.ts";
import { MetricsLimits, startMetricsServer } from "../../cli/metrics_server.ts";
import { runCli } from "../../cli/run.ts";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { boundSocks5 } from "../helpers/bound_client.ts";
import { echoServer, network, rawClient, sleep, socks5Connect, testServer } from "../helpers/net.ts";
import { cliCommandFor, requireTool, run } from "../helpers/process.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";

/** Opens `n` connections to 127.0.0.1:`port` that send nothing; resolves once each connected or failed. */
async function idleConnections(port: number, n: number): Promise<net.Socket[]> {
  return await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<net.Socket>((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port });
        socket.on("error", () => {}); // Closed by the server: what a bounded listener does.
        socket.once("connect", () => resolve(socket));
        socket.once("close", () => resolve(socket));
      })),
  );
}

/** GET `url` until it answers 200, for up to 15 s; returns the body. */
async function answers(url: string): Promise<string> {
  let last = "";
  for (let waited = 0; waited < 15_000; waited += 200) {
    try {
      const response = await fetch(url);
      if (response.status === 200) return await response.text();
      last = `status ${response.status}`;
    } catch (error) {
      last = String(error); // Full for now: closed unanswered.
    }
    await sleep(200);
  }
  throw new Error(`${url} never answered: ${last}`);
}

/** A SOCKS5 tunnel through `proxyPort` to `target` that echoes; fails after 10 s instead of hanging. */
async function tunnelWorks(proxyPort: number, target: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("the proxy did not answer within 10 s")), 10_000);
  });
  try {
    const tunnel = await Promise.race([boundSocks5(proxyPort, "127.0.0.1", target), hung]);
    try {
      assert.equal(tunnel.reply, 0, "the proxy could not open the tunnel");
      assert.deepEqual([...await Promise.race([tunnel.echo(new Uint8Array([1, 2, 3])), hung])], [1, 2, 3]);
    } finally {
      tunnel.close();
    }
  } finally {
    clearTimeout(timer);
  }
}

describe("metrics", () => {
  it("counts by version, command and outcome; the histogram is cumulative; snapshots add up", () => {
    const metrics = new ServerMetrics();
    const base = { client: "192.0.2.1:1", bytesUp: 10, bytesDown: 20, durationMs: 1 };
    metrics.connectionEnded({ ...base, version: "5", command: "connect", outcome: "ok" });
    metrics.connectionEnded({ ...base, version: "4", command: "bind", outcome: "not-allowed" });
    metrics.connectionEnded({ ...base, outcome: "bad-version" });
    metrics.handshake(0.0005);
    metrics.handshake(0.2);
    metrics.handshake(100);
    metrics.refused("maxClients");
    const one = metrics.snapshot({ active: 2, udpActive: 1 });
    const text = formatPrometheus(sumSnapshots([one, one, emptySnapshot()]));
    for (
      const line of [
        'tabi_connections_total{version="socks5",command="connect",outcome="ok"} 2',
        'tabi_connections_total{version="socks4",command="bind",outcome="not-allowed"} 2',
        'tabi_connections_total{version="none",command="none",outcome="bad-version"} 2',
        "tabi_connections_active 4",
        'tabi_bytes_total{direction="up"} 60',
        'tabi_bytes_total{direction="down"} 120',
        'tabi_handshake_duration_seconds_bucket{le="0.001"} 2',
        'tabi_handshake_duration_seconds_bucket{le="0.1"} 2',
        'tabi_handshake_duration_seconds_bucket{le="0.25"} 4',
        'tabi_handshake_duration_seconds_bucket{le="30"} 4',
        'tabi_handshake_duration_seconds_bucket{le="+Inf"} 6',
        "tabi_handshake_duration_seconds_count 6",
        'tabi_refused_total{reason="maxClients"} 2',
        'tabi_refused_total{reason="not-allowed"} 2',
        "tabi_udp_associations_active 2",
      ]
    ) {
      assert.ok(text.split("\n").includes(line), `missing: ${line}\n${text}`);
    }
  });

  it("a running server's /metrics passes promtool, and counts what the test did", async () => {
    await requireTool("promtool");
    const echo = await echoServer();
    const server = await testServer();
    const listener = await startMetricsServer(network, { hostname: "127.0.0.1", port: 0 }, {
      metrics: () => Promise.resolve(formatPrometheus(server.metrics())),
      accepting: () => server.accepting,
    });
    try {
      const target = { address: { type: "ipv4" as const, host: "127.0.0.1" }, port: echo.address.port };
      for (let i = 0; i < 3; i++) {
        const { client } = await socks5Connect(server.endpoint, target);
        client.close();
        await server.nextRecord();
      }
      const garbage = await rawClient(server.endpoint);
      await garbage.send([0x05, 0x01]);
      garbage.close();
      await server.nextRecord();
      const base = `http://127.0.0.1:${listener.address.port}`;
      const response = await fetch(`${base}/metrics`);
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.match(text, /^tabi_connections_total\{version="socks5",command="connect",outcome="ok"\} 3$/m);
      assert.match(text, /^tabi_connections_total\{version="socks5",command="none",outcome="closed"\} 1$/m);
      const check = await run("promtool", ["check", "metrics"], { input: new TextEncoder().encode(text) });
      assert.equal(check.code, 0, check.stderr + new TextDecoder().decode(check.stdout));
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await (await fetch(`${base}/nothing`)).text()).startsWith("not found"), true);
      assert.equal((await fetch(`${base}/metrics`, { method: "POST", body: "x" })).status, 405);
      const closing = server.close(60_000);
      assert.equal((await fetch(`${base}/healthz`)).status, 503);
      await closing;
    } finally {
      await listener.close();
      await server.close();
      await echo.close();
    }
  });

  it("--metrics on a non-loopback address needs --allow-open or users", async () => {
    let err = "";
    const output = { out: () => {}, err: (t: string) => (err += t) };
    assert.equal(await runCli(["serve", "--metrics", "0.0.0.0:9100"], output), 2);
    assert.match(err, /--metrics: refusing to serve metrics on 0\.0\.0\.0:9100/);
    assert.equal(await runCli(["serve", "--workers", "0"], output), 2);
    assert.match(err, /--workers: "0" is not auto or a whole number from 1 to 256/);
    assert.equal(await runCli(["serve", "--proxy-protocol", "10.0.0.0/33"], output), 2);
    assert.match(err, /--proxy-protocol: "10\.0\.0\.0\/33" is not an address or CIDR range/);
  });

  it("hundreds of idle connections to the metrics port take nothing from the proxy's clients, with few descriptors", async () => {
    const echo = await echoServer();
    const [command, prefix] = cliCommandFor(runtimeName());
    // 128 descriptors: the runtime needs 11 to 30 of its own; 200 idle scrapers would take the rest if let in.
    const limited: [string, string[]] = ["sh", ["-c", 'ulimit -n 128 && exec "$0" "$@"', command, ...prefix]];
    const tabi = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0"], limited);
    const idle: net.Socket[] = [];
    try {
      for (let waited = 0; !/metrics on http/.test(tabi.stderr()); waited += 50) {
        assert.ok(waited < 20_000, tabi.stderr());
        await sleep(50);
      }
      const url = /metrics on (http:\/\/\S+\/metrics)/.exec(tabi.stderr())![1];
      const proxyPort = Number(tabi.proxy.slice(tabi.proxy.lastIndexOf(":") + 1));
      idle.push(...await idleConnections(Number(new URL(url).port), 200));
      // While they are open, the proxy serves its clients.
      for (let i = 0; i < 3; i++) await tunnelWorks(proxyPort, echo.address.port);
      // The few it kept are closed at the head timeout: /metrics answers while the others still hold on.
      assert.ok(MetricsLimits.headTimeoutMs < 15_000);
      assert.match(await answers(url), /^tabi_connections_total/m);
      // And once they all go.
      for (const socket of idle) socket.destroy();
      assert.match(await answers(url), /^tabi_connections_total/m);
      await tunnelWorks(proxyPort, echo.address.port);
      assert.doesNotMatch(tabi.stderr(), /EMFILE|too many open files/i);
    } finally {
      for (const socket of idle) socket.destroy();
      tabi.kill("SIGKILL");
      await tabi.exited;
      await echo.close();
    }
  });
});
