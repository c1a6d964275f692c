/**
 * Authentication cannot be bypassed: every sequence that skips, repeats or reorders the RFC 1929 step, or sends a
 * request before choosing a method, is refused; one user's rules cannot be reached with another user's password;
 * SOCKS4 cannot reach what SOCKS5 authentication guards.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeSocks4Reply, encodeSocks4Request } from "../../lib/wire/socks4.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeUserPassReply, encodeUserPassRequest } from "../../lib/wire/userpass.ts";
import { concat } from "../helpers/bytes.ts";
import { closesWithin, echoServer, rawClient, testServer } from "../helpers/net.ts";

type Server = Awaited<ReturnType<typeof testServer>>;

describe("authentication cannot be bypassed", () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let other: Awaited<ReturnType<typeof echoServer>>;
  let server: Server;
  const to = (port: number) => ({ address: { type: "ipv4" as const, host: "127.0.0.1" }, port });
  const alice = encodeUserPassRequest({ username: "alice", password: "s3cret" });
  const bob = encodeUserPassRequest({ username: "bob", password: "hunter2" });
  before(async () => {
    echo = await echoServer();
    other = await echoServer();
    // alice may reach `echo`; bob may reach `other`; nobody reaches anything else.
    server = await testServer({
      users: new Map([["alice", "s3cret"], ["bob", "hunter2"]]),
      rules: [
        { action: "allow", users: ["alice"], destinations: ["127.0.0.1"], ports: [String(echo.address.port)] },
        { action: "allow", users: ["bob"], destinations: ["127.0.0.1"], ports: [String(other.address.port)] },
      ],
    });
  });
  after(async () => {
    await server.close();
    await echo.close();
    await other.close();
  });

  /** Sends `bytes` and returns everything the server says before it closes. */
  async function exchange(bytes: Uint8Array): Promise<Uint8Array> {
    const client = await rawClient(server.endpoint);
    await client.send(bytes).catch(() => {});
    const said = await client.readToEnd();
    client.close();
    await server.nextRecord();
    return said;
  }

  it("a request before any method is chosen is read as a greeting and refused with 0xFF", async () => {
    // VER 5, CMD 1 (read as NMETHODS 1), RSV 0 (read as method no-auth): no acceptable method.
    const said = await exchange(encodeSocks5Request({ command: 1, destination: to(echo.address.port) }));
    assert.deepEqual([...said], [5, 0xff]);
  });

  it("skipping RFC 1929 (a request right after choosing username/password) is refused", async () => {
    const said = await exchange(concat(
      encodeSocks5Greeting({ methods: [0x02] }),
      encodeSocks5Request({ command: 1, destination: to(echo.address.port) }),
    ));
    // The method reply, then a close: the request is not a valid RFC 1929 message, and is never answered.
    assert.deepEqual([...said.subarray(0, 2)], [5, 2]);
    assert.ok(said.length === 2 || (said.length === 4 && said[2] === 1 && said[3] !== 0), `got ${[...said]}`);
  });

  it("repeating RFC 1929 after a failure gets no second try", async () => {
    const said = await exchange(concat(
      encodeSocks5Greeting({ methods: [0x02] }),
      encodeUserPassRequest({ username: "alice", password: "guess" }),
      alice,
      encodeSocks5Request({ command: 1, destination: to(echo.address.port) }),
    ));
    assert.deepEqual([...said], [5, 2, 1, 1]);
  });

  it("RFC 1929 before the greeting is not SOCKS at all: the HTTP side refuses its first byte at once (400)", async () => {
    // 0x01 is no SOCKS version and cannot start an HTTP method: answered without waiting for the handshake timeout.
    const said = await exchange(concat(alice, encodeSocks5Greeting({ methods: [0x02] })));
    assert.match(new TextDecoder().decode(said), /^HTTP\/1\.1 400 [^]*\r\n\r\n/);
  });

  it("a second greeting after authenticating is refused as a bad request", async () => {
    const client = await rawClient(server.endpoint);
    await client.send(concat(encodeSocks5Greeting({ methods: [0x02] }), alice));
    assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 2);
    assert.equal((await client.reader.read(decodeUserPassReply)).status, 0);
    // Read as a request: VER 5, CMD 2, RSV 0, ATYP 0xFF: address type not supported, then a close.
    await client.send(encodeSocks5Greeting({ methods: [0x00, 0xff] }));
    assert.equal((await client.reader.read(decodeSocks5Reply)).reply, 0x08);
    assert.ok(await closesWithin(client, 3000));
    client.close();
    assert.notEqual((await server.nextRecord()).outcome, "ok");
  });

  it("one user's destination cannot be reached with another user's password", async () => {
    const attempt = async (auth: Uint8Array, port: number) => {
      const client = await rawClient(server.endpoint);
      await client.send(concat(
        encodeSocks5Greeting({ methods: [0x02] }),
        auth,
        encodeSocks5Request({ command: 1, destination: to(port) }),
      ));
      assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 2);
      const status = (await client.reader.read(decodeUserPassReply)).status;
      const reply = status === 0 ? (await client.reader.read(decodeSocks5Reply)).reply : undefined;
      client.close();
      await server.nextRecord();
      return { status, reply };
    };
    assert.deepEqual(await attempt(alice, echo.address.port), { status: 0, reply: 0 });
    assert.deepEqual(await attempt(bob, echo.address.port), { status: 0, reply: 2 });
    assert.deepEqual(await attempt(bob, other.address.port), { status: 0, reply: 0 });
    // alice's name with bob's password: not authenticated, so alice's rule is out of reach.
    const mixed = encodeUserPassRequest({ username: "alice", password: "hunter2" });
    assert.deepEqual(await attempt(mixed, echo.address.port), { status: 1, reply: undefined });
  });

  it("SOCKS4 and SOCKS4a cannot reach what SOCKS5 authentication guards, whatever the USERID", async () => {
    for (const userId of ["alice", "bob", ""]) {
      const client = await rawClient(server.endpoint);
      await client.send(encodeSocks4Request({ command: 1, destination: to(echo.address.port), userId }));
      assert.equal((await client.reader.read(decodeSocks4Reply)).reply, 91);
      assert.ok(await closesWithin(client, 2000));
      await server.nextRecord();
    }
    const client = await rawClient(server.endpoint);
    await client.send(encodeSocks4Request({
      command: 1,
      destination: { address: { type: "domain", host: "localhost" }, port: echo.address.port },
      userId: "alice",
    }));
    assert.equal((await client.reader.read(decodeSocks4Reply)).reply, 91);
    client.close();
    await server.nextRecord();
  });
});
