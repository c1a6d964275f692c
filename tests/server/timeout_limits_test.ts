/**
 * Timeouts: 0 means never for every one of them, and a value a timer cannot hold (over 2^31-1 ms, where every
 * runtime's setTimeout fires at once) is refused at start, naming the option.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Datagram } from "../../lib/net/network.ts";
import { resolveConfig } from "../../lib/server/config.ts";
import { MAX_TIMER_MS } from "../../lib/time/timer_slots.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeSocks5UdpDatagram, encodeSocks5UdpDatagram } from "../../lib/wire/socks5_udp.ts";
import { concat } from "../helpers/bytes.ts";
import { echoServer, network, rawClient, sleep, testServer } from "../helpers/net.ts";

const loopback = { type: "ipv4", host: "127.0.0.1" } as const;
// Far longer than the 1 ms a timer of 0 (or an overflowed one) takes to fire.
const WAIT_MS = 300;

describe("timeout limits", () => {
  it("refuses a timeout over 2^31-1 ms, a negative one, or not a number, naming the option", async () => {
    for (const name of ["handshakeTimeoutMs", "connectTimeoutMs", "idleTimeoutMs", "udpIdleTimeoutMs"] as const) {
      for (const value of [MAX_TIMER_MS + 1, 3_000_000_000, -1, Number.NaN, Infinity]) {
        assert.throws(
          () => resolveConfig({ [name]: value, network }),
          new RegExp(`^SocksError: ${name} must be a number of milliseconds from 0 \\(never\\) to ${MAX_TIMER_MS}`),
          `${name} ${value}`,
        );
      }
      const config = await resolveConfig({ [name]: MAX_TIMER_MS, network });
      assert.equal(config[name], MAX_TIMER_MS);
    }
  });

  it("refuses an external address that is not an IP address", async () => {
    assert.throws(() => resolveConfig({ externalAddress: "banana", network }), /externalAddress must be an IP/);
    assert.equal((await resolveConfig({ externalAddress: "::1", network })).externalAddress, "::1");
  });

  it("handshake timeout 0: a client that waits before its greeting is still served", async () => {
    const echo = await echoServer();
    const server = await testServer({ handshakeTimeoutMs: 0 });
    try {
      const client = await rawClient(server.endpoint);
      await sleep(WAIT_MS);
      await client.send(concat(
        encodeSocks5Greeting({ methods: [0] }),
        encodeSocks5Request({ command: 1, destination: { address: loopback, port: echo.address.port } }),
      ));
      assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 0);
      assert.equal((await client.reader.read(decodeSocks5Reply)).reply, 0);
      await client.send([42]);
      assert.deepEqual([...await client.reader.readExactly(1)], [42]);
      client.close();
      assert.equal((await server.nextRecord()).outcome, "ok");
    } finally {
      await echo.close();
      await server.close();
    }
  });

  it("connect timeout 0: BIND keeps waiting for its incoming connection", async () => {
    const server = await testServer({ connectTimeoutMs: 0 });
    try {
      const client = await rawClient(server.endpoint);
      await client.send(concat(
        encodeSocks5Greeting({ methods: [0] }),
        encodeSocks5Request({ command: 2, destination: { address: loopback, port: 0 } }),
      ));
      await client.reader.read(decodeSocks5MethodSelection);
      const first = await client.reader.read(decodeSocks5Reply);
      assert.equal(first.reply, 0);
      await sleep(WAIT_MS);
      const incoming = await network.connect({ hostname: "127.0.0.1", port: first.bound.port });
      const second = await client.reader.read(decodeSocks5Reply);
      assert.equal(second.reply, 0);
      incoming.close();
      client.close();
      await server.nextRecord();
    } finally {
      await server.close();
    }
  });

  it("UDP timeout 0: an association quiet for a while still relays", async () => {
    const server = await testServer({ udpIdleTimeoutMs: 0 });
    const received: Datagram[] = [];
    let arrived: (() => void) | undefined;
    const client = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, (d) => {
      received.push(d);
      arrived?.();
    });
    const echo = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, (d) => void echo.send(d.data, d.from));
    try {
      const control = await rawClient(server.endpoint);
      await control.send(concat(
        encodeSocks5Greeting({ methods: [0] }),
        encodeSocks5Request({ command: 3, destination: { address: loopback, port: client.address.port } }),
      ));
      await control.reader.read(decodeSocks5MethodSelection);
      const reply = await control.reader.read(decodeSocks5Reply);
      assert.equal(reply.reply, 0);
      await sleep(WAIT_MS);
      const destination = { address: loopback, port: echo.address.port };
      const back = new Promise<void>((resolve) => (arrived = resolve));
      await client.send(
        encodeSocks5UdpDatagram({ fragment: 0, destination, data: new Uint8Array([7]) }),
        { hostname: "127.0.0.1", port: reply.bound.port },
      );
      // Bounded, so that a dropped association fails the test instead of hanging it.
      const echoed = await Promise.race([back.then(() => true), sleep(5000).then(() => false)]);
      assert.ok(echoed, "no echo: the association ended");
      assert.deepEqual([...decodeSocks5UdpDatagram(received[0].data).data], [7]);
      control.close();
      assert.equal((await server.nextRecord()).outcome, "ok");
    } finally {
      client.close();
      echo.close();
      await server.close();
    }
  });
});
