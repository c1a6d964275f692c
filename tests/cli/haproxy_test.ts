/**
 * A real HAProxy in front of two `tabi serve` processes: one backend with `send-proxy` (v1), one with
 * `send-proxy-v2`. Clients come from distinct loopback addresses; tabi must see them, not HAProxy.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { encodeProxyHeader } from "../../lib/wire/proxy_protocol.ts";
import type { Listener } from "../../lib/net/network.ts";
import { boundSocks5 } from "../helpers/bound_client.ts";
import { closedPort, echoServer, sleep } from "../helpers/net.ts";
import { type Daemon, daemon } from "../helpers/process.ts";
import { requirePeer } from "../helpers/peers.ts";
import { startTabiServe, type TabiServe } from "../helpers/tabi_serve.ts";

/** The configuration docs/operations.md shows: one frontend per PROXY protocol version, each to its own tabi. */
function haproxyConfig(ports: { v1: number; v2: number; tabi1: number; tabi2: number }): string {
  return `global
    maxconn 1000

defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h

frontend socks_v1
    bind 127.0.0.1:${ports.v1}
    default_backend tabi_v1

backend tabi_v1
    server tabi1 127.0.0.1:${ports.tabi1} send-proxy

frontend socks_v2
    bind 127.0.0.1:${ports.v2}
    default_backend tabi_v2

backend tabi_v2
    server tabi2 127.0.0.1:${ports.tabi2} send-proxy-v2
`;
}

interface LogRecord {
  client: string;
  outcome: string;
  command?: string;
}

/** Waits (up to 10 s) for a JSON log record of `tabi` that `match` accepts. */
async function record(tabi: TabiServe, match: (r: LogRecord) => boolean): Promise<LogRecord> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    for (const line of tabi.stderr().split("\n")) {
      if (!line.startsWith("{")) continue;
      const parsed = JSON.parse(line) as LogRecord;
      if (match(parsed)) return parsed;
    }
    await sleep(50);
  }
  throw new Error(`no such record in the log:\n${tabi.stderr()}`);
}

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1));

/** Waits (up to 10 s) until 127.0.0.1:port accepts a connection from 127.0.0.250. */
async function reachable(port: number, what: string): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port, localAddress: "127.0.0.250" }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (up) return;
    await sleep(50);
  }
  throw new Error(`${what} did not start listening on port ${port}`);
}

describe("behind HAProxy (send-proxy and send-proxy-v2)", () => {
  let dir: string;
  let echo: Listener;
  let tabi1: TabiServe;
  let tabi2: TabiServe;
  let haproxy: Daemon;
  const front = { v1: 0, v2: 0 };

  beforeEach(() => void requirePeer("haproxy"));
  before(async () => {
    const haproxyPath = requirePeer("haproxy");
    dir = mkdtempSync(join(tmpdir(), "tabi-haproxy-"));
    echo = await echoServer();
    const config = join(dir, "tabi.json");
    writeFileSync(config, JSON.stringify({ rules: [{ action: "deny", clients: ["127.0.0.5"] }, { action: "allow" }] }));
    const args = [
      "--listen",
      "127.0.0.1:0",
      "--proxy-protocol",
      "127.0.0.1/32",
      "--max-clients-per-address",
      "1",
      "--config",
      config,
      "--log",
      "json",
    ];
    [tabi1, tabi2] = await Promise.all([startTabiServe(runtimeName(), args), startTabiServe(runtimeName(), args)]);
    front.v1 = await closedPort();
    front.v2 = await closedPort();
    const cfg = join(dir, "haproxy.cfg");
    writeFileSync(cfg, haproxyConfig({ ...front, tabi1: portOf(tabi1.proxy), tabi2: portOf(tabi2.proxy) }));
    haproxy = daemon(haproxyPath, ["-db", "-f", cfg]);
    // From an address of its own, so that the probes are not mistaken for the clients the tests look for.
    await reachable(front.v1, `haproxy: ${haproxy.output()}`);
    await reachable(front.v2, `haproxy: ${haproxy.output()}`);
  });

  after(async () => {
    await haproxy?.stop();
    tabi1?.kill("SIGKILL");
    tabi2?.kill("SIGKILL");
    await Promise.all([tabi1?.exited, tabi2?.exited]);
    await echo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const version of ["v1", "v2"] as const) {
    const tabi = () => (version === "v1" ? tabi1 : tabi2);

    it(`${version}: clients from 127.0.0.2 and 127.0.0.3 get through, and tabi logs each one's own address`, async () => {
      for (const source of ["127.0.0.2", "127.0.0.3"]) {
        const tunnel = await boundSocks5(front[version], source, echo.address.port);
        assert.equal(tunnel.reply, 0, `${source} through ${version}`);
        assert.deepEqual([...(await tunnel.echo(new Uint8Array([1, 2, 3])))], [1, 2, 3]);
        tunnel.close();
        const logged = await record(tabi(), (r) => r.client === tunnel.local);
        assert.equal(logged.outcome, "ok");
        assert.equal(logged.command, "connect");
      }
    });

    it(`${version}: a rule that denies 127.0.0.5 holds through HAProxy`, async () => {
      const tunnel = await boundSocks5(front[version], "127.0.0.5", echo.address.port);
      assert.equal(tunnel.reply, 2, "connection not allowed by ruleset");
      tunnel.close();
      assert.equal((await record(tabi(), (r) => r.client === tunnel.local)).outcome, "not-allowed");
    });

    it(`${version}: the per-address limit counts the real client, not HAProxy`, async () => {
      const held = await boundSocks5(front[version], "127.0.0.2", echo.address.port);
      assert.equal(held.reply, 0);
      // The same client again is over --max-clients-per-address 1; another client is not.
      const again = await boundSocks5(front[version], "127.0.0.2", echo.address.port);
      assert.equal(again.reply, undefined, "closed without a reply");
      again.close();
      const other = await boundSocks5(front[version], "127.0.0.4", echo.address.port);
      assert.equal(other.reply, 0);
      other.close();
      held.close();
    });
  }

  it("a PROXY header from an untrusted peer is refused and never honoured", async () => {
    for (const header of [1, 2] as const) {
      const prefix = encodeProxyHeader({
        version: header,
        source: { hostname: "203.0.113.9", port: 4444 },
        destination: { hostname: "127.0.0.1", port: 1080 },
      });
      const forged = await boundSocks5(portOf(tabi1.proxy), "127.0.0.9", echo.address.port, { prefix });
      assert.equal(forged.reply, undefined);
      forged.close();
      const logged = await record(tabi1, (r) => r.client === forged.local);
      assert.equal(logged.outcome, "bad-proxy-header");
      assert.ok(!tabi1.stderr().includes("203.0.113.9"), "the forged address appears nowhere");
    }
  });

  it("a trusted peer without a PROXY header is closed", async () => {
    const bare = await boundSocks5(portOf(tabi2.proxy), "127.0.0.1", echo.address.port);
    assert.equal(bare.reply, undefined);
    bare.close();
    assert.equal((await record(tabi2, (r) => r.client === bare.local)).outcome, "bad-proxy-header");
  });
});
