// A destination address the DNS port mapped is the name to everything the server decides with: rules match the
// name, protected ranges apply to what the name resolves to (not to the mapped address), and a name an open tunnel
// uses stays mapped until the tunnel ends.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NameMap } from "../../lib/server/name_map.ts";
import type { Listener } from "../../lib/net/network.ts";
import { echoServer, socks5Connect, testServer } from "../helpers/net.ts";
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
});
