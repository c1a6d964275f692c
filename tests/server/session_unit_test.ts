/**
 * The server's session on the in-memory Network: SOCKS4, 4a and 5 CONNECT, authentication, rules and the reply
 * codes of failures, with the log record of each. No socket: every test runs in milliseconds, the same way each
 * time. (tests/server/connect_test.ts covers the same paths on real sockets.)
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ByteReader } from "../../lib/io/byte_reader.ts";
import { MemoryNetwork } from "../../lib/net/memory_network.ts";
import type { Connection, Endpoint, Listener } from "../../lib/net/network.ts";
import type { ServerOptions } from "../../lib/server/config.ts";
import type { ConnectionRecord } from "../../lib/server/connection_record.ts";
import { type SocksServer, startServer } from "../../lib/server/server.ts";
import type { DomainAddress, HostPort, Ipv4Address } from "../../lib/wire/address.ts";
import { Socks4Reply, Socks5Reply } from "../../lib/wire/constants.ts";
import { decodeSocks4Reply, encodeSocks4Request } from "../../lib/wire/socks4.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeUserPassReply, encodeUserPassRequest } from "../../lib/wire/userpass.ts";
import { concat, readAll } from "../helpers/bytes.ts";

const PROXY: Endpoint = { hostname: "127.0.0.1", port: 1080 };
const ECHO = { hostname: "192.0.2.7", port: 7 };
const NAMES = { "echo.test": ["192.0.2.7"], "refusing.test": ["192.0.2.8"], "loop.test": ["127.0.0.1"] };

const ipv4 = (host: string, port: number) => ({ address: { type: "ipv4", host } as Ipv4Address, port });
const ipv6 = (host: string, port: number): HostPort => ({ address: { type: "ipv6", host }, port });
const domain = (host: string, port: number) => ({ address: { type: "domain", host } as DomainAddress, port });
const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** A server on a fresh memory network with an echo target, and the records of every connection it served. */
async function setup(options: Omit<ServerOptions, "network" | "listen" | "onConnectionEnd"> = {}) {
  const network = new MemoryNetwork({ names: NAMES });
  const echo: Listener = await network.listen(ECHO, (c) => {
    c.readable.pipeTo(c.writable).catch(() => {}).finally(() => c.close());
  });
  const echo6: Listener = await network.listen({ hostname: "2001:db8::7", port: 7 }, (c) => {
    c.readable.pipeTo(c.writable).catch(() => {}).finally(() => c.close());
  });
  const records: ConnectionRecord[] = [];
  const waiting: ((r: ConnectionRecord) => void)[] = [];
  const server: SocksServer = await startServer({
    ...options,
    network,
    listen: [PROXY],
    onConnectionEnd: (record) => {
      const taker = waiting.shift();
      if (taker) taker(record);
      else records.push(record);
    },
  });
  return {
    network,
    server,
    nextRecord: () =>
      records.length > 0 ? Promise.resolve(records.shift()!) : new Promise<ConnectionRecord>((r) => waiting.push(r)),
    close: async () => {
      await server.close();
      await echo.close();
      await echo6.close();
    },
  };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** A raw client of the proxy: the connection, a ByteReader on it and a writer. */
async function client(network: MemoryNetwork, from?: string) {
  const connection: Connection = await (from ? network.from(from) : network).connect(PROXY);
  const reader = new ByteReader(connection.readable);
  const writer = connection.writable.getWriter();
  return { connection, reader, writer, send: (bytes: Uint8Array) => writer.write(bytes) };
}

/** A SOCKS5 no-auth CONNECT, `extra` bytes right behind the request; returns the client and the reply. */
async function socks5Connect(network: MemoryNetwork, destination: HostPort, extra = new Uint8Array(), from?: string) {
  const c = await client(network, from);
  await c.send(concat(encodeSocks5Greeting({ methods: [0] }), encodeSocks5Request({ command: 1, destination }), extra));
  assert.equal((await c.reader.read(decodeSocks5MethodSelection)).method, 0);
  return { ...c, reply: await c.reader.read(decodeSocks5Reply) };
}

describe("session on the memory network: SOCKS5 CONNECT", () => {
  let s: Setup;
  before(async () => (s = await setup()));
  after(() => s.close());

  for (
    const [label, destination] of [
      ["an IPv4 address", ipv4(ECHO.hostname, ECHO.port)],
      ["an IPv6 address", ipv6("2001:db8::7", 7)],
      ["a name the server resolves", domain("echo.test", 7)],
    ] as const
  ) {
    it(`to ${label}: replies with the outbound address, relays bytes sent behind the request, records them`, async () => {
      const c = await socks5Connect(s.network, destination, text("early "));
      assert.equal(c.reply.reply, Socks5Reply.Succeeded);
      // The bound address is the outbound connection's own end: the destination's host on the memory network.
      assert.equal(c.reply.bound.address.host, destination.address.type === "ipv6" ? "2001:db8::7" : "192.0.2.7");
      assert.ok(c.reply.bound.port > 0);
      await c.send(text("bytes"));
      await c.writer.close();
      const { leftover, readable } = c.reader.release();
      assert.equal(decode(concat(leftover, await readAll(readable))), "early bytes");
      const record = await s.nextRecord();
      assert.equal(record.outcome, "ok");
      assert.equal(record.version, "5");
      assert.equal(record.command, "connect");
      assert.equal(record.reply, 0);
      assert.equal(record.bytesUp, 11);
      assert.equal(record.bytesDown, 11);
      assert.equal(record.client, `127.0.0.1:${c.connection.localAddress.port}`);
    });
  }

  it("nothing listening: REP 5 (connection refused), and the record says why", async () => {
    const c = await socks5Connect(s.network, domain("refusing.test", 80));
    assert.equal(c.reply.reply, Socks5Reply.ConnectionRefused);
    assert.equal((await readAll(c.reader.release().readable)).length, 0, "the server closes after the reply");
    const record = await s.nextRecord();
    assert.equal(record.outcome, "connection-refused");
    assert.equal(record.reply, Socks5Reply.ConnectionRefused);
    assert.equal(record.destination, "refusing.test:80");
  });

  it("a name the resolver does not know: REP 4 (host unreachable)", async () => {
    const c = await socks5Connect(s.network, domain("nowhere.test", 80));
    assert.equal(c.reply.reply, Socks5Reply.HostUnreachable);
    c.connection.close();
    assert.equal((await s.nextRecord()).outcome, "host-unreachable");
  });

  it("an unsupported command: REP 7; on a SOCKS-only listener, a first byte that is no SOCKS version: closed unanswered", async () => {
    const c = await client(s.network);
    await c.send(concat(encodeSocks5Greeting({ methods: [0] }), new Uint8Array([5, 0x09, 0, 1, 1, 2, 3, 4, 0, 80])));
    await c.reader.read(decodeSocks5MethodSelection);
    assert.equal((await c.reader.read(decodeSocks5Reply)).reply, Socks5Reply.CommandNotSupported);
    c.connection.close();
    assert.equal((await s.nextRecord()).reply, Socks5Reply.CommandNotSupported);

    // On a listener that answers SOCKS only, anything else (here HTTP) is closed unanswered.
    const socksOnly = await setup({ protocols: ["socks4", "socks5"] });
    try {
      const http = await client(socksOnly.network);
      await http.send(text("GET / HTTP/1.1\r\n\r\n"));
      assert.equal((await readAll(http.reader.release().readable)).length, 0);
      assert.equal((await socksOnly.nextRecord()).outcome, "unsupported");
    } finally {
      await socksOnly.close();
    }
  });
});

describe("session on the memory network: SOCKS4 and 4a CONNECT", () => {
  let s: Setup;
  before(async () => (s = await setup()));
  after(() => s.close());

  it("SOCKS4 to an address: reply 90, then data both ways; the USERID is recorded", async () => {
    const c = await client(s.network);
    await c.send(
      concat(encodeSocks4Request({ command: 1, destination: ipv4("192.0.2.7", 7), userId: "fred" }), text("hi")),
    );
    const reply = await c.reader.read(decodeSocks4Reply);
    assert.equal(reply.reply, Socks4Reply.Granted);
    assert.equal(reply.bound.address.host, "192.0.2.7");
    assert.equal(decode(await c.reader.readExactly(2)), "hi");
    c.connection.close();
    const record = await s.nextRecord();
    assert.equal(record.version, "4");
    assert.equal(record.userId, "fred");
    assert.equal(record.bytesUp, 2);
  });

  it("SOCKS4a: the server resolves the name", async () => {
    const c = await client(s.network);
    await c.send(encodeSocks4Request({ command: 1, destination: domain("echo.test", 7), userId: "" }));
    assert.equal((await c.reader.read(decodeSocks4Reply)).reply, Socks4Reply.Granted);
    await c.send(text("x"));
    assert.equal(decode(await c.reader.readExactly(1)), "x");
    c.connection.close();
    assert.equal((await s.nextRecord()).destination, "echo.test:7");
    assert.ok(s.network.lookups.includes("echo.test"));
  });

  it("SOCKS4 failures all answer 91: refused, unknown name", async () => {
    for (const destination of [ipv4("192.0.2.8", 80), domain("nowhere.test", 80)]) {
      const c = await client(s.network);
      await c.send(encodeSocks4Request({ command: 1, destination, userId: "" }));
      assert.equal((await c.reader.read(decodeSocks4Reply)).reply, Socks4Reply.Rejected);
      c.connection.close();
      const record = await s.nextRecord();
      assert.equal(record.reply, Socks4Reply.Rejected);
      assert.notEqual(record.outcome, "ok");
    }
  });
});

describe("session on the memory network: authentication and rules", () => {
  it("RFC 1929: the right password gets through, a wrong one gets status 1 and a close; SOCKS4 is refused", async () => {
    const s = await setup({ users: new Map([["alice", "secret"]]) });
    try {
      for (const [password, status] of [["secret", 0], ["wrong", 1]] as const) {
        const c = await client(s.network);
        await c.send(encodeSocks5Greeting({ methods: [0, 2] }));
        assert.equal((await c.reader.read(decodeSocks5MethodSelection)).method, 2);
        await c.send(encodeUserPassRequest({ username: "alice", password }));
        assert.equal((await c.reader.read(decodeUserPassReply)).status, status);
        if (status === 0) {
          await c.send(encodeSocks5Request({ command: 1, destination: ipv4("192.0.2.7", 7) }));
          assert.equal((await c.reader.read(decodeSocks5Reply)).reply, 0);
          c.connection.close();
          assert.equal((await s.nextRecord()).user, "alice");
        } else {
          assert.equal((await readAll(c.reader.release().readable)).length, 0);
          assert.equal((await s.nextRecord()).outcome, "auth-failed");
        }
      }
      const four = await client(s.network);
      await four.send(encodeSocks4Request({ command: 1, destination: ipv4("192.0.2.7", 7), userId: "alice" }));
      assert.equal((await four.reader.read(decodeSocks4Reply)).reply, Socks4Reply.Rejected);
      four.connection.close();
      await s.nextRecord();
    } finally {
      await s.close();
    }
  });

  it("a rule denying a name: REP 2, and the name is never looked up", async () => {
    const s = await setup({ rules: [{ action: "deny", destinations: ["*.test"] }, { action: "allow" }] });
    try {
      const c = await socks5Connect(s.network, domain("echo.test", 7));
      assert.equal(c.reply.reply, Socks5Reply.NotAllowed);
      c.connection.close();
      assert.equal((await s.nextRecord()).outcome, "not-allowed");
      assert.deepEqual(s.network.lookups, []);
    } finally {
      await s.close();
    }
  });

  it("a rule on a range catches a name that resolves into it (the lookup happens, then the deny)", async () => {
    const s = await setup({ rules: [{ action: "deny", destinations: ["192.0.2.0/24"] }, { action: "allow" }] });
    try {
      const c = await socks5Connect(s.network, domain("echo.test", 7));
      assert.equal(c.reply.reply, Socks5Reply.NotAllowed);
      c.connection.close();
      await s.nextRecord();
      assert.deepEqual(s.network.lookups, ["echo.test"]);
    } finally {
      await s.close();
    }
  });

  it("rules on client addresses: clients from another host are denied, local ones allowed", async () => {
    const s = await setup({ rules: [{ action: "allow", clients: ["127.0.0.0/8"] }] });
    try {
      const local = await socks5Connect(s.network, ipv4("192.0.2.7", 7));
      assert.equal(local.reply.reply, 0);
      local.connection.close();
      await s.nextRecord();
      const remote = await socks5Connect(s.network, ipv4("192.0.2.7", 7), undefined, "203.0.113.5");
      assert.equal(remote.reply.reply, Socks5Reply.NotAllowed);
      remote.connection.close();
      const record = await s.nextRecord();
      assert.equal(record.client, `203.0.113.5:${remote.connection.localAddress.port}`);
      assert.equal(record.outcome, "not-allowed");
    } finally {
      await s.close();
    }
  });

  it("a protected range is out of reach by name or address unless a rule names the range", async () => {
    const guarded = await setup({ protectedDestinations: ["192.0.2.0/24"] });
    const opened = await setup({
      protectedDestinations: ["192.0.2.0/24"],
      rules: [{ action: "allow", destinations: ["192.0.2.7/32"] }],
    });
    try {
      for (const destination of [domain("echo.test", 7), ipv4("192.0.2.7", 7)]) {
        const c = await socks5Connect(guarded.network, destination);
        assert.equal(c.reply.reply, Socks5Reply.NotAllowed);
        c.connection.close();
        assert.equal((await guarded.nextRecord()).outcome, "not-allowed");
      }
      const c = await socks5Connect(opened.network, ipv4("192.0.2.7", 7));
      assert.equal(c.reply.reply, Socks5Reply.Succeeded);
      c.connection.close();
      assert.equal((await opened.nextRecord()).outcome, "ok");
    } finally {
      await guarded.close();
      await opened.close();
    }
  });

  it("a client that sends nothing is closed at the handshake deadline", async () => {
    const s = await setup({ handshakeTimeoutMs: 10 });
    try {
      const c = await client(s.network);
      assert.equal((await readAll(c.reader.release().readable)).length, 0);
      assert.equal((await s.nextRecord()).outcome, "handshake-timeout");
    } finally {
      await s.close();
    }
  });

  it("closing the server ends open tunnels and waits for them", async () => {
    const s = await setup();
    const c = await socks5Connect(s.network, ipv4("192.0.2.7", 7));
    assert.equal(c.reply.reply, 0);
    assert.equal(s.server.activeConnections, 1);
    await s.close();
    assert.equal(s.server.activeConnections, 0);
    const record = await s.nextRecord();
    assert.equal(record.outcome, "aborted");
    await assert.rejects(c.send(text("late")), { code: "closed" });
  });
});
