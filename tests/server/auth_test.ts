import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { checkPassword, constantTimeEqual } from "../../lib/server/auth.ts";
import { decodeSocks4Reply, encodeSocks4Request } from "../../lib/wire/socks4.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeUserPassReply, encodeUserPassRequest } from "../../lib/wire/userpass.ts";
import { closesWithin, echoServer, rawClient, testServer } from "../helpers/net.ts";
import { concat, hexBytes } from "../helpers/bytes.ts";

type Server = Awaited<ReturnType<typeof testServer>>;

describe("authentication", () => {
  let server: Server;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  const destination = () => ({ address: { type: "ipv4" as const, host: "127.0.0.1" }, port: echo.address.port });
  before(async () => {
    echo = await echoServer();
    server = await testServer({ users: new Map([["alice", "s3cret"], ["bob", "pässwörd"]]) });
  });
  after(async () => {
    echo.close();
    await server.close();
  });

  it("a client offering only no-auth gets 0xFF and a close", async () => {
    const client = await rawClient(server.endpoint);
    await client.send(encodeSocks5Greeting({ methods: [0x00] }));
    assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 0xff);
    assert.ok(await closesWithin(client, 2000));
    assert.equal((await server.nextRecord()).outcome, "auth-failed");
  });

  it("the right password opens the tunnel, the user is logged, no password is", async () => {
    const client = await rawClient(server.endpoint);
    await client.send(concat(
      encodeSocks5Greeting({ methods: [0x00, 0x02] }),
      encodeUserPassRequest({ username: "bob", password: "pässwörd" }),
      encodeSocks5Request({ command: 1, destination: destination() }),
    ));
    assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 0x02);
    assert.equal((await client.reader.read(decodeUserPassReply)).status, 0);
    assert.equal((await client.reader.read(decodeSocks5Reply)).reply, 0);
    await client.send([7]);
    assert.deepEqual([...await client.reader.readExactly(1)], [7]);
    client.close();
    const record = await server.nextRecord();
    assert.equal(record.user, "bob");
    assert.ok(!JSON.stringify(record).includes("pässwörd"));
  });

  for (
    const [label, username, password] of [["wrong password", "alice", "s3cre"], ["unknown user", "mallory", "s3cret"]]
  ) {
    it(`${label}: status 0x01, then close, and a request sent anyway is never answered`, async () => {
      const client = await rawClient(server.endpoint);
      await client.send(concat(
        encodeSocks5Greeting({ methods: [0x02] }),
        encodeUserPassRequest({ username, password }),
        encodeSocks5Request({ command: 1, destination: destination() }),
      ));
      assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 0x02);
      assert.equal((await client.reader.read(decodeUserPassReply)).status, 1);
      assert.equal((await client.readToEnd()).length, 0);
      assert.equal((await server.nextRecord()).outcome, "auth-failed");
    });
  }

  it("a request in place of the RFC 1929 step is refused", async () => {
    const client = await rawClient(server.endpoint);
    await client.send(
      concat(
        encodeSocks5Greeting({ methods: [0x02] }),
        encodeSocks5Request({ command: 1, destination: destination() }),
      ),
    );
    assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 0x02);
    assert.deepEqual([...await client.readToEnd()], [0x01, 0x01]);
    assert.equal((await server.nextRecord()).outcome, "bad-version");
  });

  it("NMETHODS 0 gets 0xFF", async () => {
    const client = await rawClient(server.endpoint);
    await client.send(hexBytes("05 00"));
    assert.deepEqual([...await client.readToEnd()], [0x05, 0xff]);
    await server.nextRecord();
  });

  it("SOCKS4, which has no password, is refused by a server with users: 91 even for a user's name", async () => {
    for (const userId of ["", "mallory", "alice"]) {
      const client = await rawClient(server.endpoint);
      await client.send(encodeSocks4Request({ command: 1, destination: destination(), userId }));
      assert.equal((await client.reader.read(decodeSocks4Reply)).reply, 91);
      assert.ok(await closesWithin(client, 2000));
      const record = await server.nextRecord();
      assert.equal(record.outcome, "auth-failed");
      assert.match(record.error ?? "", /SOCKS4 cannot authenticate/);
    }
  });

  it("with allowSocks4UserId, SOCKS4 needs a USERID naming a user: 91 for a stranger or none, 90 for a user", async () => {
    const lenient = await testServer({ users: new Map([["alice", "s3cret"]]), allowSocks4UserId: true });
    try {
      for (const [userId, code] of [["", 91], ["mallory", 91], ["alice", 90]] as const) {
        const client = await rawClient(lenient.endpoint);
        await client.send(encodeSocks4Request({ command: 1, destination: destination(), userId }));
        assert.equal((await client.reader.read(decodeSocks4Reply)).reply, code);
        client.close();
        await lenient.nextRecord();
      }
    } finally {
      await lenient.close();
    }
  });

  it("compares in constant time and rejects unknown users", () => {
    const enc = new TextEncoder();
    assert.ok(constantTimeEqual(enc.encode("abc"), enc.encode("abc")));
    assert.ok(!constantTimeEqual(enc.encode("abc"), enc.encode("abd")));
    assert.ok(!constantTimeEqual(enc.encode("abc"), enc.encode("abcd")));
    assert.ok(!constantTimeEqual(enc.encode(""), enc.encode("\0")));
    const users = new Map([["u", "p"]]);
    assert.ok(checkPassword(users, "u", "p"));
    assert.ok(!checkPassword(users, "x", "\0".repeat(32)));
  });
});
