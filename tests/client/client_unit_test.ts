/**
 * The client calls against tabi's own server, both on the in-memory Network: CONNECT through SOCKS5h, SOCKS4a and
 * a two-hop chain, the DNS-leak policy, failures that name their hop, timeouts and aborts, RESOLVE, BIND and UDP
 * ASSOCIATE. No socket. (tests/client/client_test.ts covers the client on real sockets and real proxies.)
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { associate } from "../../lib/client/associate.ts";
import { bind } from "../../lib/client/bind.ts";
import { connect } from "../../lib/client/connect.ts";
import { resolve, resolvePtr } from "../../lib/client/resolve.ts";
import type { Tunnel } from "../../lib/client/tunnel.ts";
import { MemoryNetwork } from "../../lib/net/memory_network.ts";
import type { Listener } from "../../lib/net/network.ts";
import type { ServerOptions } from "../../lib/server/config.ts";
import { type SocksServer, startServer } from "../../lib/server/server.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { readAll } from "../helpers/bytes.ts";
import { payload, sameBytes } from "../helpers/targets.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

const NAMES = {
  "echo.test": ["192.0.2.7"],
  "hop2.test": ["10.0.0.2"],
  "silent.test": ["192.0.2.9"],
  "refusing.test": ["192.0.2.8"],
};

/** Sends `data`, half-closes, and reads the answer to its end: an echo gives `data` back. */
async function roundTrip(tunnel: Tunnel, data: Uint8Array): Promise<Uint8Array> {
  const writer = tunnel.writable.getWriter();
  const [answer] = await Promise.all([
    readAll(tunnel.readable),
    (async () => {
      await writer.write(data);
      await writer.close();
    })(),
  ]);
  return answer;
}

const isError = (code: string, hop?: number) => (error: unknown) =>
  error instanceof SocksError && error.code === code && (hop === undefined || error.hop === hop);

describe("client on the memory network", () => {
  let network: MemoryNetwork;
  let first: SocksServer;
  let second: SocksServer;
  let authed: SocksServer;
  const listeners: Listener[] = [];
  const serve = (options: ServerOptions) => startServer({ ...options, network });

  before(async () => {
    network = new MemoryNetwork({ names: NAMES });
    // An echo, a UDP echo, and a server that accepts and never answers.
    listeners.push(
      await network.listen({ hostname: "192.0.2.7", port: 7 }, (c) => {
        c.readable.pipeTo(c.writable).catch(() => {}).finally(() => c.close());
      }),
      await network.listen({ hostname: "192.0.2.9", port: 1080 }, () => {}),
    );
    const udpEcho = await network.bindUdp({ hostname: "192.0.2.7", port: 7 }, (d) => {
      void udpEcho.send(d.data, d.from);
    });
    first = await serve({ listen: [{ hostname: "127.0.0.1", port: 1080 }], resolveExtension: true });
    // The second hop sits on another address of the network, reached by name through the first.
    second = await serve({ listen: [{ hostname: "10.0.0.2", port: 1080 }], allowOpen: true });
    authed = await serve({ listen: [{ hostname: "127.0.0.1", port: 1081 }], users: new Map([["alice", "secret"]]) });
    listeners.push({ address: udpEcho.address, close: () => Promise.resolve(udpEcho.close()) });
  });
  after(async () => {
    await Promise.all([first.close(), second.close(), authed.close(), ...listeners.map((l) => l.close())]);
  });

  for (const proxy of ["socks5h://127.0.0.1:1080", "socks4a://127.0.0.1:1080"]) {
    it(`CONNECT through ${proxy}: the proxy resolves the name, the tunnel is a byte stream pair`, async () => {
      const before = network.lookups.length;
      const tunnel = await connect(proxy, "echo.test:7", { network });
      assert.deepEqual(tunnel.remoteAddress, { hostname: "127.0.0.1", port: 1080 });
      assert.equal(tunnel.bound.address.host, "192.0.2.7");
      const data = payload(300_000, 21);
      assert.ok(sameBytes(await roundTrip(tunnel, data), data));
      tunnel.close();
      // The only lookup is the server's own (the memory network is shared): the client sent the name.
      assert.deepEqual(network.lookups.slice(before), ["echo.test"]);
    });
  }

  it("CONNECT through a chain of two hops, the second named by the first", async () => {
    const tunnel = await connect(["socks5h://127.0.0.1:1080", "socks5h://hop2.test:1080"], "echo.test:7", {
      network,
    });
    assert.equal(decode(await roundTrip(tunnel, text("two hops"))), "two hops");
    tunnel.close();
  });

  it("a chain whose second hop cannot reach the destination fails naming hop 2 and the reply", async () => {
    await assert.rejects(
      connect(["socks5h://127.0.0.1:1080", "socks5h://hop2.test:1080"], "refusing.test:80", { network }),
      (error: unknown) => isError("connection-refused", 2)(error) && (error as SocksError).reply === 5,
    );
    await assert.rejects(
      connect(["socks5h://127.0.0.1:1080", "socks5h://nowhere.test:1080"], "echo.test:7", { network }),
      isError("host-unreachable", 1),
    );
  });

  it("socks5:// would resolve the name here: refused before any lookup unless allowed", async () => {
    const before = network.lookups.length;
    await assert.rejects(connect("socks5://127.0.0.1:1080", "echo.test:7", { network }), isError("dns-leak"));
    assert.equal(network.lookups.length, before);
    const tunnel = await connect("socks5://127.0.0.1:1080", "echo.test:7", { network, allowLocalDns: true });
    assert.equal(decode(await roundTrip(tunnel, text("ok"))), "ok");
    tunnel.close();
  });

  it("username and password from the URL; a wrong password is auth-failed", async () => {
    const tunnel = await connect("socks5h://alice:secret@127.0.0.1:1081", "echo.test:7", { network });
    assert.equal(decode(await roundTrip(tunnel, text("authed"))), "authed");
    tunnel.close();
    await assert.rejects(
      connect("socks5h://alice:nope@127.0.0.1:1081", "echo.test:7", { network }),
      isError("auth-failed"),
    );
  });

  it("no proxy listening: connection-refused; a proxy that never answers: timeout; an abort: aborted", async () => {
    await assert.rejects(connect("socks5h://127.0.0.1:9", "echo.test:7", { network }), isError("connection-refused"));
    await assert.rejects(
      connect("socks5h://silent.test:1080", "echo.test:7", { network, allowLocalDns: true, timeoutMs: 20 }),
      isError("timeout"),
    );
    const controller = new AbortController();
    const pending = connect("socks5h://192.0.2.9:1080", "echo.test:7", { network, signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, isError("aborted"));
  });

  it("RESOLVE and RESOLVE_PTR ask the proxy's resolver", async () => {
    assert.deepEqual(await resolve("socks5h://127.0.0.1:1080", "hop2.test", { network }), {
      type: "ipv4",
      host: "10.0.0.2",
    });
    assert.equal(await resolvePtr("socks5h://127.0.0.1:1080", "192.0.2.7", { network }), "echo.test");
    await assert.rejects(resolve("socks5h://127.0.0.1:1080", "nowhere.test", { network }), isError("host-unreachable"));
  });

  it("BIND: the proxy listens, the peer connects there, the tunnel joins them", async () => {
    const binding = await bind("socks5h://127.0.0.1:1080", "0.0.0.0:0", { network });
    const peer = await network.connect({ hostname: binding.bound.address.host, port: binding.bound.port });
    const tunnel = await binding.accepted;
    const writer = peer.writable.getWriter();
    await writer.write(text("from the peer"));
    await writer.close();
    assert.equal(decode(await readAll(tunnel.readable)), "from the peer");
    tunnel.close();
    peer.close();
  });

  it("UDP ASSOCIATE: datagrams go out through the relay and come back with their sender", async () => {
    const association = await associate("socks5h://127.0.0.1:1080", { network });
    const reader = association.datagrams.getReader();
    await association.send(text("ping"), "192.0.2.7:7");
    const { value } = await reader.read();
    assert.equal(decode(value!.data), "ping");
    assert.deepEqual(value!.from, { address: { type: "ipv4", host: "192.0.2.7" }, port: 7 });
    association.close();
  });
});
