/**
 * The outbound address (`outboundAddresses`, `tabi serve --outbound-address`): the source address a destination
 * sees for CONNECT (SOCKS and HTTP, and from curl through `tabi serve`), for the UDP relay's datagrams, and BIND's
 * listening address; a destination of a family without one is refused as network unreachable (0x03); an address
 * that is not this machine's stops the start. Destinations listen on 127.0.0.2 and the outbound address is
 * 127.0.0.3, so the source they see can only be the outbound address.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Datagram } from "../../lib/net/network.ts";
import { startServer } from "../../lib/server/server.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeSocks5UdpDatagram, encodeSocks5UdpDatagram } from "../../lib/wire/socks5_udp.ts";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { concat } from "../helpers/bytes.ts";
import { network, rawClient, socks5Connect, testServer } from "../helpers/net.ts";
import { requirePeer } from "../helpers/peers.ts";
import { cliCommand, run } from "../helpers/process.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";

const OUTBOUND = "127.0.0.3";
const DESTINATION = "127.0.0.2";

/** A TCP destination on 127.0.0.2 that answers every connection with the source address it saw, then closes. */
async function addressEcho() {
  const seen: string[] = [];
  const listener = await network.listen({ hostname: DESTINATION, port: 0 }, (connection) => {
    seen.push(connection.remoteAddress.hostname);
    const body = `${connection.remoteAddress.hostname}\n`;
    const writer = connection.writable.getWriter();
    writer.write(new TextEncoder().encode(`HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`))
      .then(() => writer.close()).catch(() => connection.close());
  });
  return { listener, seen };
}

describe("outbound address", () => {
  it("SOCKS5 CONNECT: the destination sees the outbound address", async () => {
    const { listener, seen } = await addressEcho();
    const server = await testServer({ outboundAddresses: [OUTBOUND] });
    try {
      const destination = { address: { type: "ipv4" as const, host: DESTINATION }, port: listener.address.port };
      const { client, reply } = await socks5Connect(server.endpoint, destination);
      assert.equal(reply.reply, 0);
      // The reply's bound address is the outbound connection's local address (RFC 1928 section 6).
      assert.equal(reply.bound.address.host, OUTBOUND);
      assert.match(new TextDecoder().decode(await client.readToEnd()), /127\.0\.0\.3\n$/);
      assert.deepEqual(seen, [OUTBOUND]);
    } finally {
      await server.close();
      await listener.close();
    }
  });

  it("a destination of a family without an outbound address: SOCKS5 0x03, no connection made", async () => {
    let accepted = 0;
    const counted = await network.listen({ hostname: "::1", port: 0 }, (c) => (accepted++, c.close()));
    const server = await testServer({ outboundAddresses: [OUTBOUND] });
    try {
      const destination = { address: { type: "ipv6" as const, host: "::1" }, port: counted.address.port };
      const { client, reply } = await socks5Connect(server.endpoint, destination);
      assert.equal(reply.reply, 3);
      client.close();
      const record = await server.nextRecord();
      assert.equal(record.outcome, "network-unreachable");
      assert.equal(accepted, 0);
    } finally {
      await server.close();
      await counted.close();
    }
  });

  it("UDP ASSOCIATE: the relay's datagrams leave from the outbound address", async () => {
    const received: Datagram[] = [];
    let arrived!: () => void;
    const got = new Promise<void>((resolve) => (arrived = resolve));
    const target = await network.bindUdp({ hostname: DESTINATION, port: 0 }, (d) => (received.push(d), arrived()));
    const server = await testServer({ outboundAddresses: [OUTBOUND] });
    const client = await rawClient(server.endpoint);
    const answers: Uint8Array[] = [];
    const socket = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, (d) => answers.push(d.data));
    try {
      const mine = { address: { type: "ipv4" as const, host: "127.0.0.1" }, port: socket.address.port };
      await client.send(
        concat(encodeSocks5Greeting({ methods: [0] }), encodeSocks5Request({ command: 3, destination: mine })),
      );
      await client.reader.read(decodeSocks5MethodSelection);
      const relay = (await client.reader.read(decodeSocks5Reply)).bound;
      const destination = { address: { type: "ipv4" as const, host: DESTINATION }, port: target.address.port };
      await socket.send(
        encodeSocks5UdpDatagram({ fragment: 0, destination, data: new Uint8Array([7]) }),
        { hostname: relay.address.host, port: relay.port },
      );
      await got;
      assert.equal(received[0].from.hostname, OUTBOUND);
      assert.deepEqual([...received[0].data], [7]);
      // And the answer finds its way back through that socket.
      await target.send(new Uint8Array([8]), received[0].from);
      for (let i = 0; i < 100 && answers.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual([...decodeSocks5UdpDatagram(answers[0]).data], [8]);
    } finally {
      client.close();
      socket.close();
      target.close();
      await server.close();
    }
  });

  it("BIND listens on the outbound address", async () => {
    const server = await testServer({ outboundAddresses: [OUTBOUND] });
    try {
      const client = await rawClient(server.endpoint);
      const peer = { address: { type: "ipv4" as const, host: DESTINATION }, port: 0 };
      await client.send(
        concat(encodeSocks5Greeting({ methods: [0] }), encodeSocks5Request({ command: 2, destination: peer })),
      );
      await client.reader.read(decodeSocks5MethodSelection);
      const first = await client.reader.read(decodeSocks5Reply);
      assert.equal(first.reply, 0);
      assert.equal(first.bound.address.host, OUTBOUND);
      const incoming = await network.connect({ hostname: OUTBOUND, port: first.bound.port, localAddress: DESTINATION });
      const second = await client.reader.read(decodeSocks5Reply);
      assert.equal(second.bound.address.host, DESTINATION);
      incoming.close();
      client.close();
    } finally {
      await server.close();
    }
  });

  it("an address that is not this machine's stops the start; two of one family are refused", async () => {
    await assert.rejects(
      startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }], network, outboundAddresses: ["192.0.2.77"] }),
      /outbound address 192\.0\.2\.77 is not an address of this machine/,
    );
    await assert.rejects(
      startServer({
        listen: [{ hostname: "127.0.0.1", port: 0 }],
        network,
        outboundAddresses: [OUTBOUND, "127.0.0.4"],
      }),
      /more than one IPv4 address/,
    );
  });

  it(`tabi serve --outbound-address under ${runtimeName()}: curl's destination sees it; a wrong one stops serve`, async () => {
    const curl = requirePeer("curl");
    const { listener, seen } = await addressEcho();
    const serve = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--outbound-address", OUTBOUND]);
    try {
      const url = `http://${DESTINATION}:${listener.address.port}/`;
      for (const proxy of [`socks5h://${serve.proxy}`, `http://${serve.proxy}`]) {
        const result = await run(curl, [
          "-s",
          "--max-time",
          "10",
          "--proxy",
          proxy,
          ...(proxy.startsWith("http") ? ["--proxytunnel"] : []),
          url,
        ]);
        assert.equal(new TextDecoder().decode(result.stdout), `${OUTBOUND}\n`, `${proxy}: ${result.stderr}`);
      }
      assert.deepEqual(seen, [OUTBOUND, OUTBOUND]);
    } finally {
      serve.kill("SIGTERM");
      await serve.exited;
      await listener.close();
    }
    const [command, args] = cliCommand();
    const wrong = await run(
      command,
      [...args, "serve", "--listen", "127.0.0.1:0", "--outbound-address", "192.0.2.77"],
      {
        timeoutMs: 30_000,
      },
    );
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /outbound address 192\.0\.2\.77 is not an address of this machine/);
  });
});
