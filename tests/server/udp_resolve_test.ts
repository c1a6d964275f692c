import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeSocks5UdpDatagram, encodeSocks5UdpDatagram } from "../../lib/wire/socks5_udp.ts";
import { network, rawClient, sleep, testServer } from "../helpers/net.ts";
import { concat } from "../helpers/bytes.ts";
import { associate, udpInbox } from "../helpers/udp.ts";

describe("UDP ASSOCIATE", () => {
  it("relays datagrams to IPv4, IPv6 and named destinations and wraps the answers", async () => {
    const server = await testServer();
    const client = await udpInbox("127.0.0.1");
    const echo4 = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, (d) => void echo4.send(d.data, d.from));
    const echo6 = await network.bindUdp({ hostname: "::1", port: 0 }, (d) => void echo6.send(d.data, d.from));
    try {
      const { control, reply } = await associate(server, client.socket.address.port);
      assert.equal(reply.reply, 0);
      assert.equal(reply.bound.address.host, "127.0.0.1");
      const relayAt = { hostname: "127.0.0.1", port: reply.bound.port };
      const destinations = [
        { address: { type: "ipv4" as const, host: "127.0.0.1" }, port: echo4.address.port },
        { address: { type: "ipv6" as const, host: "::1" }, port: echo6.address.port },
        { address: { type: "domain" as const, host: "localhost" }, port: echo4.address.port },
      ];
      for (const [i, destination] of destinations.entries()) {
        const payload = new Uint8Array([i, 0xaa, 0x55]);
        await client.socket.send(encodeSocks5UdpDatagram({ fragment: 0, destination, data: payload }), relayAt);
        const answer = await client.next();
        assert.ok(answer, `no answer from ${destination.address.host}`);
        const decoded = decodeSocks5UdpDatagram(answer.data);
        assert.deepEqual([...decoded.data], [...payload]);
        assert.equal(decoded.destination.port, destination.port);
        assert.equal(decoded.destination.address.host, destination.address.type === "ipv6" ? "::1" : "127.0.0.1");
      }
      // RFC 1928 section 7: fragments are dropped by a server that does not reassemble.
      await client.socket.send(
        encodeSocks5UdpDatagram({ fragment: 1, destination: destinations[0], data: new Uint8Array([1]) }),
        relayAt,
      );
      assert.equal(await client.next(300), undefined);
      control.close();
      const record = await server.nextRecord();
      assert.equal(record.command, "udp-associate");
      assert.equal(record.bytesUp, 9);
      assert.equal(record.bytesDown, 9);
      // The association ended with its TCP connection: the relay port answers no more.
      await client.socket.send(
        encodeSocks5UdpDatagram({ fragment: 0, destination: destinations[0], data: new Uint8Array([2]) }),
        relayAt,
      );
      assert.equal(await client.next(300), undefined);
    } finally {
      client.socket.close();
      echo4.close();
      echo6.close();
      await server.close();
    }
  });

  it("ignores datagrams from another port than the one the request named", async () => {
    const server = await testServer();
    const client = await udpInbox("127.0.0.1");
    const stranger = await udpInbox("127.0.0.1");
    const echo = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, (d) => void echo.send(d.data, d.from));
    try {
      const { control, reply } = await associate(server, client.socket.address.port);
      const destination = { address: { type: "ipv4" as const, host: "127.0.0.1" }, port: echo.address.port };
      const datagram = encodeSocks5UdpDatagram({ fragment: 0, destination, data: new Uint8Array([3]) });
      await stranger.socket.send(datagram, { hostname: "127.0.0.1", port: reply.bound.port });
      assert.equal(await stranger.next(300), undefined);
      assert.equal(await client.next(50), undefined);
      control.close();
      await server.nextRecord();
    } finally {
      client.socket.close();
      stranger.socket.close();
      echo.close();
      await server.close();
    }
  });

  it("ends after the idle timeout", async () => {
    const server = await testServer({ udpIdleTimeoutMs: 200 });
    const client = await udpInbox("127.0.0.1");
    try {
      const { control } = await associate(server, client.socket.address.port);
      const closed = await Promise.race([control.readToEnd().then(() => true), sleep(3000).then(() => false)]);
      assert.ok(closed);
      assert.equal((await server.nextRecord()).outcome, "udp-idle-timeout");
    } finally {
      client.socket.close();
      await server.close();
    }
  });
});

describe("Tor RESOLVE extensions", () => {
  const ask = async (server: Awaited<ReturnType<typeof testServer>>, command: 0xf0 | 0xf1, host: string) => {
    const client = await rawClient(server.endpoint);
    const address = host.includes(".") && /^[0-9.]+$/.test(host)
      ? { type: "ipv4" as const, host }
      : { type: "domain" as const, host };
    await client.send(
      concat(
        encodeSocks5Greeting({ methods: [0] }),
        encodeSocks5Request({ command, destination: { address, port: 0 } }),
      ),
    );
    await client.reader.read(decodeSocks5MethodSelection);
    const reply = await client.reader.read(decodeSocks5Reply);
    await client.readToEnd();
    await server.nextRecord();
    return reply;
  };
  it("RESOLVE answers the address, RESOLVE_PTR the name", async () => {
    const server = await testServer({ resolveExtension: true });
    try {
      const resolved = await ask(server, 0xf0, "localhost");
      assert.equal(resolved.reply, 0);
      assert.deepEqual(resolved.bound.address, { type: "ipv4", host: "127.0.0.1" });
      const ptr = await ask(server, 0xf1, "127.0.0.1");
      assert.equal(ptr.reply, 0);
      assert.equal(ptr.bound.address.type, "domain");
      assert.equal(ptr.bound.address.host, "localhost");
      assert.equal((await ask(server, 0xf0, "no-such-host.invalid")).reply, 0x04);
    } finally {
      await server.close();
    }
  });
  it("is off by default: 0x07", async () => {
    const server = await testServer();
    try {
      assert.equal((await ask(server, 0xf0, "localhost")).reply, 0x07);
    } finally {
      await server.close();
    }
  });
});
