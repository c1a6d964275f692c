import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Network } from "../../lib/net/network.ts";
import { toSocksError } from "../../lib/net/net_error.ts";
import { decodeSocks4Reply, encodeSocks4Request } from "../../lib/wire/socks4.ts";
import { decodeSocks5MethodSelection } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply } from "../../lib/wire/socks5_request.ts";
import { closedPort, closesWithin, echoServer, network, rawClient, socks5Connect, testServer } from "../helpers/net.ts";
import { concat, hexBytes } from "../helpers/bytes.ts";

type Server = Awaited<ReturnType<typeof testServer>>;
type Echo = Awaited<ReturnType<typeof echoServer>>;

const ipv4 = (port: number) => ({ address: { type: "ipv4" as const, host: "127.0.0.1" }, port });
const ipv6 = (port: number) => ({ address: { type: "ipv6" as const, host: "::1" }, port });
const name = (host: string, port: number) => ({ address: { type: "domain" as const, host }, port });

describe("CONNECT", () => {
  let server: Server;
  let echo: Echo;
  let echo6: Echo;
  before(async () => {
    server = await testServer({ listen: [{ hostname: "127.0.0.1", port: 0 }] });
    echo = await echoServer();
    echo6 = await echoServer("::1");
  });
  after(async () => {
    echo.close();
    echo6.close();
    await server.close();
  });

  for (
    const [label, destination] of [
      ["SOCKS5 IPv4", () => ipv4(echo.address.port)],
      ["SOCKS5 IPv6", () => ipv6(echo6.address.port)],
      ["SOCKS5 domain", () => name("localhost", echo.address.port)],
    ] as const
  ) {
    it(`${label}: replies with the real bound address, relays data sent right behind the request`, async () => {
      const { client, reply } = await socks5Connect(server.endpoint, destination(), hexBytes("68 65 6c 6c 6f"));
      assert.equal(reply.reply, 0);
      assert.notEqual(reply.bound.port, 0);
      assert.ok(reply.bound.address.host === "127.0.0.1" || reply.bound.address.host === "::1");
      assert.deepEqual([...await client.reader.readExactly(5)], [0x68, 0x65, 0x6c, 0x6c, 0x6f]);
      await client.send([1, 2, 3]);
      assert.deepEqual([...await client.reader.readExactly(3)], [1, 2, 3]);
      await client.writer.close();
      assert.equal((await client.readToEnd()).length, 0);
      const record = await server.nextRecord();
      assert.equal(record.outcome, "ok");
      assert.equal(record.bytesUp, 8);
      assert.equal(record.bytesDown, 8);
    });
  }

  it("SOCKS4: the Fred-style request to 127.0.0.1, reply 90, then data", async () => {
    const client = await rawClient(server.endpoint);
    await client.send(
      concat(encodeSocks4Request({ command: 1, destination: ipv4(echo.address.port), userId: "Fred" }), hexBytes("ab")),
    );
    const reply = await client.reader.read(decodeSocks4Reply);
    assert.equal(reply.reply, 90);
    assert.deepEqual([...await client.reader.readExactly(1)], [0xab]);
    client.close();
    const record = await server.nextRecord();
    assert.equal(record.version, "4");
    assert.equal(record.userId, "Fred");
  });

  it("SOCKS4a: the server resolves the name", async () => {
    const client = await rawClient(server.endpoint);
    await client.send(
      encodeSocks4Request({ command: 1, destination: name("localhost", echo.address.port), userId: "" }),
    );
    assert.equal((await client.reader.read(decodeSocks4Reply)).reply, 90);
    await client.send([9]);
    assert.deepEqual([...await client.reader.readExactly(1)], [9]);
    client.close();
    assert.equal((await server.nextRecord()).destination, `localhost:${echo.address.port}`);
  });

  it("refused: SOCKS5 0x05 and SOCKS4 91, then close", async () => {
    const port = await closedPort();
    const { client, reply } = await socks5Connect(server.endpoint, ipv4(port));
    assert.equal(reply.reply, 0x05);
    assert.ok(await closesWithin(client, 2000));
    assert.equal((await server.nextRecord()).outcome, "connection-refused");
    const c4 = await rawClient(server.endpoint);
    await c4.send(encodeSocks4Request({ command: 1, destination: ipv4(port), userId: "" }));
    assert.equal((await c4.reader.read(decodeSocks4Reply)).reply, 91);
    assert.ok(await closesWithin(c4, 2000));
    assert.equal((await server.nextRecord()).reply, 91);
  });

  it("DNS failure: 0x04", async () => {
    const { client, reply } = await socks5Connect(server.endpoint, name("no-such-host.invalid", 80));
    assert.equal(reply.reply, 0x04);
    assert.ok(await closesWithin(client, 2000));
    await server.nextRecord();
  });

  it("unknown command 0x07 and unknown address type 0x08", async () => {
    for (
      const [bytes, code] of [[hexBytes("05 01 00 05 09 00 01 7f 00 00 01 00 50"), 0x07], [
        hexBytes("05 01 00 05 01 00 07 00"),
        0x08,
      ]] as const
    ) {
      const client = await rawClient(server.endpoint);
      await client.send(bytes);
      await client.reader.read(decodeSocks5MethodSelection);
      assert.equal((await client.reader.read(decodeSocks5Reply)).reply, code);
      assert.ok(await closesWithin(client, 2000));
      assert.equal((await server.nextRecord()).reply, code);
    }
  });

  it("a first byte other than 4 or 5 goes to the HTTP side: a TLS hello is answered 400 and closed", async () => {
    const client = await rawClient(server.endpoint);
    await client.send(hexBytes("16 03 01 00 05 01 00 00 01 00 0d 0a 0d 0a"));
    assert.match(new TextDecoder().decode(await client.readToEnd()), /^HTTP\/1\.1 400 /);
    assert.equal((await server.nextRecord()).reply, 400);
  });

  it("with HTTP off, an unknown first byte is closed without a reply", async () => {
    const socksOnly = await testServer({ protocols: ["socks4", "socks5"] });
    const client = await rawClient(socksOnly.endpoint);
    await client.send(hexBytes("16 03 01"));
    assert.equal((await client.readToEnd()).length, 0);
    assert.equal((await socksOnly.nextRecord()).outcome, "unsupported");
    await socksOnly.close();
  });
});

describe("CONNECT failures from the network", () => {
  const failing = (code: string): Network => ({
    ...network,
    connect: () => Promise.reject(toSocksError(Object.assign(new Error(`simulated ${code}`), { code }), "connect")),
  });
  for (
    const [errno, socks5, outcome] of [["ENETUNREACH", 0x03, "network-unreachable"], [
      "EHOSTUNREACH",
      0x04,
      "host-unreachable",
    ]] as const
  ) {
    it(`${errno}: 0x0${socks5} (SOCKS5), 91 (SOCKS4)`, async () => {
      const server = await testServer({ network: failing(errno) });
      try {
        const { client, reply } = await socks5Connect(server.endpoint, ipv4(9));
        assert.equal(reply.reply, socks5);
        assert.ok(await closesWithin(client, 2000));
        assert.equal((await server.nextRecord()).outcome, outcome);
        const c4 = await rawClient(server.endpoint);
        await c4.send(encodeSocks4Request({ command: 1, destination: ipv4(9), userId: "" }));
        assert.equal((await c4.reader.read(decodeSocks4Reply)).reply, 91);
      } finally {
        await server.close();
      }
    });
  }
  it("a connect that never completes: 0x06 after the connect timeout", async () => {
    const hanging: Network = {
      ...network,
      connect: ({ signal }) =>
        new Promise((_, reject) =>
          signal?.addEventListener("abort", () => reject(toSocksError(signal.reason, "connect")))
        ),
    };
    const server = await testServer({ network: hanging, connectTimeoutMs: 150 });
    try {
      const { client, reply } = await socks5Connect(server.endpoint, ipv4(9));
      assert.equal(reply.reply, 0x06);
      assert.ok(await closesWithin(client, 2000));
      assert.equal((await server.nextRecord()).outcome, "timeout");
    } finally {
      await server.close();
    }
  });
});

describe("rules", () => {
  it("a denied destination gets 0x02 (SOCKS5) and 91 (SOCKS4); others pass", async () => {
    const echo = await echoServer();
    const server = await testServer({
      rules: [
        { action: "deny", destinations: ["*.example.com", "127.0.0.2/32"] },
        { action: "deny", ports: ["1-1023"] },
        { action: "allow" },
      ],
    });
    try {
      for (
        const destination of [name("www.example.com", echo.address.port), ipv4(80), {
          address: { type: "ipv4" as const, host: "127.0.0.2" },
          port: echo.address.port,
        }]
      ) {
        const { client, reply } = await socks5Connect(server.endpoint, destination);
        assert.equal(reply.reply, 0x02);
        assert.ok(await closesWithin(client, 2000));
        assert.equal((await server.nextRecord()).outcome, "not-allowed");
      }
      const c4 = await rawClient(server.endpoint);
      await c4.send(encodeSocks4Request({ command: 1, destination: ipv4(80), userId: "" }));
      assert.equal((await c4.reader.read(decodeSocks4Reply)).reply, 91);
      await server.nextRecord();
      const { client, reply } = await socks5Connect(server.endpoint, ipv4(echo.address.port));
      assert.equal(reply.reply, 0);
      client.close();
      await server.nextRecord();
    } finally {
      echo.close();
      await server.close();
    }
  });
  it("a name that resolves into a denied range is denied", async () => {
    const server = await testServer({
      rules: [{ action: "deny", destinations: ["127.0.0.0/8", "::1"] }, { action: "allow" }],
    });
    try {
      const { reply } = await socks5Connect(server.endpoint, name("localhost", 80));
      assert.equal(reply.reply, 0x02);
      await server.nextRecord();
    } finally {
      await server.close();
    }
  });
});
