// A destination address the DNS port mapped is the name to everything the server decides with: rules match the
// name, protected ranges apply to what the name resolves to (not to the mapped address), and a name an open tunnel
// uses stays mapped until the tunnel ends.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NameMap } from "../../lib/server/name_map.ts";
import type { Listener } from "../../lib/net/network.ts";
import { echoServer, network, rawClient, socks5Connect, testServer } from "../helpers/net.ts";
import { concat } from "../helpers/bytes.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeSocks5UdpDatagram, encodeSocks5UdpDatagram } from "../../lib/wire/socks5_udp.ts";
import { ask } from "../helpers/http.ts";

const to = (host: string, port: number) => ({ address: { type: "ipv4" as const, host }, port });

describe("mapped destinations", () => {
  let echo: Listener;
  before(async () => {
    echo = await echoServer("127.0.0.1");
  });
  after(() => echo.close());

  it("rules match the name behind a mapped address", async () => {
    const nameMap = new NameMap();
    const server = await testServer({
      nameMap,
      rules: [{ action: "deny", destinations: ["blocked.test"] }, { action: "allow" }],
    });
    try {
      const { client, reply } = await socks5Connect(
        server.endpoint,
        to(nameMap.addressFor("blocked.test", "ipv4")!, 80),
      );
      client.close();
      assert.equal(reply.reply, 0x02);
      const record = await server.nextRecord();
      assert.deepEqual([record.destination, record.addressType, record.outcome], [
        "blocked.test:80",
        "mapped-ipv4",
        "not-allowed",
      ]);
    } finally {
      await server.close(0);
    }
  });

  it("protected ranges apply to the name's addresses, not to the mapped address", async () => {
    const nameMap = new NameMap();
    // The mapped range itself protected: had the address been checked, the request would be refused.
    const server = await testServer({ nameMap, protectedDestinations: ["127.192.0.0/10"] });
    try {
      const { client, reply } = await socks5Connect(
        server.endpoint,
        to(nameMap.addressFor("localhost", "ipv4")!, echo.address.port),
      );
      assert.equal(reply.reply, 0x00);
      await client.send([1, 2, 3]);
      assert.deepEqual([...await client.reader.readExactly(3)], [1, 2, 3]);
      client.close();
      assert.equal((await server.nextRecord()).destination, `localhost:${echo.address.port}`);
    } finally {
      await server.close(0);
    }
  });

  it("a name an open tunnel uses is not evicted; once the tunnel ends it may be", async () => {
    const nameMap = new NameMap({ size: 1 });
    const server = await testServer({ nameMap });
    try {
      const address = nameMap.addressFor("localhost", "ipv4")!;
      const { client, reply } = await socks5Connect(server.endpoint, to(address, echo.address.port));
      assert.equal(reply.reply, 0x00);
      assert.equal(nameMap.addressFor("other.test", "ipv4"), undefined, "the only name is in use");
      assert.equal(nameMap.nameFor(address), "localhost");
      client.close();
      await server.nextRecord();
      assert.ok(nameMap.addressFor("other.test", "ipv4"), "free once the tunnel ended");
      assert.equal(nameMap.counters().evictions, 1);
      // The evicted address is now stale: host unreachable.
      const stale = await socks5Connect(server.endpoint, to(address, echo.address.port));
      stale.client.close();
      assert.equal(stale.reply.reply, 0x04);
    } finally {
      await server.close(0);
    }
  });

  it("the same over HTTP CONNECT: in use while the tunnel is open", async () => {
    const nameMap = new NameMap({ size: 1 });
    const server = await testServer({ nameMap });
    try {
      const address = nameMap.addressFor("localhost", "ipv4")!;
      const target = `${address}:${echo.address.port}`;
      const { status, client } = await ask(server.endpoint, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
      assert.equal(status, 200);
      assert.equal(nameMap.addressFor("other.test", "ipv4"), undefined, "the only name is in use");
      client.close();
      const record = await server.nextRecord();
      assert.deepEqual([record.destination, record.addressType], [`localhost:${echo.address.port}`, "mapped-ipv4"]);
      assert.ok(nameMap.addressFor("other.test", "ipv4"), "free once the tunnel ended");
    } finally {
      await server.close(0);
    }
  });

  it("UDP datagrams to a mapped address are dropped, not sent to the loopback address", async () => {
    const nameMap = new NameMap();
    const server = await testServer({ nameMap });
    const seen: number[] = [];
    // Bound to every address: a datagram to 127.192.0.x would arrive here if it were sent.
    const echo4 = await network.bindUdp({ hostname: "0.0.0.0", port: 0 }, (d) => {
      seen.push(d.data[0]);
      void echo4.send(d.data, d.from);
    });
    const answers: number[] = [];
    let answered: () => void = () => {};
    const client = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, (d) => {
      answers.push(decodeSocks5UdpDatagram(d.data).data[0]);
      answered();
    });
    try {
      const control = await rawClient(server.endpoint);
      await control.send(concat(
        encodeSocks5Greeting({ methods: [0] }),
        encodeSocks5Request({ command: 3, destination: to("127.0.0.1", client.address.port) }),
      ));
      await control.reader.read(decodeSocks5MethodSelection);
      const reply = await control.reader.read(decodeSocks5Reply);
      assert.equal(reply.reply, 0);
      const relay = { hostname: "127.0.0.1", port: reply.bound.port };
      const mapped = to(nameMap.addressFor("localhost", "ipv4")!, echo4.address.port);
      const plain = to("127.0.0.1", echo4.address.port);
      const answer = new Promise<void>((resolve) => (answered = resolve));
      await client.send(
        encodeSocks5UdpDatagram({ fragment: 0, destination: mapped, data: new Uint8Array([1]) }),
        relay,
      );
      await client.send(encodeSocks5UdpDatagram({ fragment: 0, destination: plain, data: new Uint8Array([2]) }), relay);
      await answer;
      control.close();
      const record = await server.nextRecord();
      assert.equal(record.bytesUp, 1, "only the datagram to 127.0.0.1 went out");
      assert.deepEqual(seen, [2]);
      assert.deepEqual(answers, [2]);
    } finally {
      client.close();
      echo4.close();
      await server.close(0);
    }
  });
});
