import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emptySnapshot, formatPrometheus, ServerMetrics, sumSnapshots } from "../../lib/server/metrics.ts";
import { startMetricsServer } from "../../cli/metrics_server.ts";
import { runCli } from "../../cli/run.ts";
import { echoServer, network, rawClient, socks5Connect, testServer } from "../helpers/net.ts";
import { requireTool, run } from "../helpers/process.ts";

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
});
