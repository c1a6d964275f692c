/**
 * Admission limits: over a limit a new client is closed at once with nothing read or written, refusals are
 * reported once per interval (and on close), and a slot that frees up is used again. UDP associations and
 * datagrams in flight have their limits too.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startServer } from "../../mod.ts";
import type { LimitReport } from "../../lib/server/limits.ts";
import { encodeSocks5UdpDatagram } from "../../lib/wire/socks5_udp.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { concat } from "../helpers/bytes.ts";
import { closesWithin, echoServer, network, rawClient, sleep, testServer } from "../helpers/net.ts";

const greeting = encodeSocks5Greeting({ methods: [0x00] });

describe("admission limits", () => {
  it("per address and in total: the client over the limit is closed at once, unanswered", async () => {
    const reports: LimitReport[] = [];
    const server = await testServer({ limits: { maxClientsPerAddress: 3 }, onLimit: (r) => reports.push(r) });
    try {
      const held = await Promise.all([1, 2, 3].map(() => rawClient(server.endpoint)));
      await held[0].send(greeting);
      assert.equal((await held[0].reader.read(decodeSocks5MethodSelection)).method, 0);
      for (let i = 0; i < 4; i++) {
        const extra = await rawClient(server.endpoint);
        await extra.send(greeting).catch(() => {});
        assert.deepEqual([...await extra.readToEnd()], [], "a refused client gets no byte");
        extra.close();
      }
      assert.equal(server.activeConnections, 3);
      // A slot that frees up is used again.
      held[1].close();
      await server.nextRecord();
      const next = await rawClient(server.endpoint);
      await next.send(greeting);
      assert.equal((await next.reader.read(decodeSocks5MethodSelection)).method, 0);
      for (const client of [next, ...held]) client.close();
    } finally {
      await server.close();
    }
    // Reported once (at close here, as the 10 s interval had not passed), with the count, not per connection.
    assert.deepEqual(reports, [{ refused: { maxClientsPerAddress: 4 }, intervalMs: 10_000 }]);
  });

  it("pending handshakes: slowloris clients fill the slots, a client past its handshake does not count", async () => {
    const reports: LimitReport[] = [];
    const server = await testServer({ limits: { maxHandshakes: 2 }, onLimit: (r) => reports.push(r) });
    const echo = await echoServer();
    try {
      // One client completes its handshake and holds a tunnel open.
      const tunnel = await rawClient(server.endpoint);
      await tunnel.send(concat(greeting, encodeSocks5Request({ command: 1, destination: at(echo.address.port) })));
      await tunnel.reader.read(decodeSocks5MethodSelection);
      assert.equal((await tunnel.reader.read(decodeSocks5Reply)).reply, 0);
      // Two that stall in their handshakes take both slots; the third is closed at once.
      const slow = await Promise.all([1, 2].map(() => rawClient(server.endpoint)));
      for (const client of slow) await client.send([5]);
      await sleep(50);
      const third = await rawClient(server.endpoint);
      assert.ok(await closesWithin(third, 2000));
      assert.equal(server.activeConnections, 3);
      for (const client of [tunnel, third, ...slow]) client.close();
    } finally {
      await server.close();
      await echo.close();
    }
    assert.deepEqual(reports.map((r) => r.refused), [{ maxHandshakes: 1 }]);
  });

  it("UDP: associations over the per-client limit get 0x01; a freed one can be taken again", async () => {
    const reports: LimitReport[] = [];
    const server = await testServer({ limits: { maxUdpAssociationsPerClient: 1 }, onLimit: (r) => reports.push(r) });
    const associate = async () => {
      const client = await rawClient(server.endpoint);
      await client.send(concat(greeting, encodeSocks5Request({ command: 3, destination: at(0) })));
      await client.reader.read(decodeSocks5MethodSelection);
      return { client, reply: (await client.reader.read(decodeSocks5Reply)).reply };
    };
    try {
      const first = await associate();
      assert.equal(first.reply, 0);
      const second = await associate();
      assert.equal(second.reply, 0x01);
      assert.ok(await closesWithin(second.client, 2000));
      assert.match((await server.nextRecord()).error ?? "", /maxUdpAssociationsPerClient/);
      first.client.close();
      await server.nextRecord();
      const third = await associate();
      assert.equal(third.reply, 0);
      third.client.close();
    } finally {
      await server.close();
    }
    assert.deepEqual(reports.map((r) => r.refused), [{ maxUdpAssociationsPerClient: 1 }]);
  });

  it("UDP: datagrams past the in-flight window are dropped and counted, not queued", async () => {
    // Name lookups that take 300 ms keep datagrams in flight; the window is 2.
    const slowNames = {
      ...network,
      resolve: async (name: string) => {
        await sleep(300);
        return network.resolve(name);
      },
    };
    const received: Uint8Array[] = [];
    const target = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, (d) => received.push(d.data));
    const reports: LimitReport[] = [];
    const server = await testServer({
      network: slowNames,
      limits: { maxUdpDatagramsInFlight: 2 },
      onLimit: (r) => reports.push(r),
    });
    const client = await rawClient(server.endpoint);
    const socket = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, () => {});
    try {
      await client.send(concat(greeting, encodeSocks5Request({ command: 3, destination: at(socket.address.port) })));
      await client.reader.read(decodeSocks5MethodSelection);
      const relay = (await client.reader.read(decodeSocks5Reply)).bound;
      const relayAt = { hostname: relay.address.host, port: relay.port };
      const destination = { address: { type: "domain" as const, host: "localhost" }, port: target.address.port };
      for (let i = 0; i < 10; i++) {
        await socket.send(encodeSocks5UdpDatagram({ fragment: 0, destination, data: new Uint8Array([i]) }), relayAt);
      }
      await sleep(800);
      // Two wait for the lookup; the eight behind them find the window full and are dropped.
      assert.deepEqual(received.map((d) => d[0]).sort(), [0, 1]);
      client.close();
      const record = await server.nextRecord();
      assert.match(record.error ?? "", /8 datagrams dropped/);
    } finally {
      socket.close();
      target.close();
      await server.close();
    }
    assert.deepEqual(reports.map((r) => r.refused), [{ maxUdpDatagramsInFlight: 8 }]);
  });

  it("bad limits are refused at start, naming the limit", async () => {
    await assert.rejects(
      startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }], limits: { maxClients: 0 } }),
      (e) => e instanceof SocksError && /maxClients must be a whole number >= 1/.test(e.message),
    );
    await assert.rejects(
      startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }], limits: { maxClientsPerAddress: 1.5 } }),
      (e) => e instanceof SocksError && /maxClientsPerAddress/.test(e.message),
    );
  });
});

function at(port: number) {
  return { address: { type: "ipv4" as const, host: "127.0.0.1" }, port };
}
