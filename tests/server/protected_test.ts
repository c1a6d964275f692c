/**
 * Security defaults: a proxy exposed on a network does not reach its own loopback or link-local ranges (cloud
 * metadata at 169.254.169.254 included) unless a rule allows them by range; passwords never reach the log.
 * The live tests listen on loopback with the exposed defaults switched on, so no traffic leaves 127.0.0.0/8.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PROTECTED_WHEN_EXPOSED } from "../../lib/server/config.ts";
import { formatRecord } from "../../lib/server/connection_record.ts";
import { resolveConfig } from "../../lib/server/config.ts";
import type { Rule } from "../../lib/server/rules.ts";
import type { HostPort } from "../../lib/wire/address.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeUserPassReply, encodeUserPassRequest } from "../../lib/wire/userpass.ts";
import { concat } from "../helpers/bytes.ts";
import { echoServer, loopbackOnly, network, rawClient, socks5Connect, testServer } from "../helpers/net.ts";

type Server = Awaited<ReturnType<typeof testServer>>;

describe("protected destinations", () => {
  it("are on by default exactly when a listen address is not loopback", async () => {
    const users = new Map([["u", "p"]]);
    const exposed = await resolveConfig({ listen: [{ hostname: "0.0.0.0", port: 1080 }], users, network });
    assert.deepEqual(exposed.protectedDestinations, PROTECTED_WHEN_EXPOSED);
    assert.ok(PROTECTED_WHEN_EXPOSED.includes("169.254.0.0/16") && PROTECTED_WHEN_EXPOSED.includes("127.0.0.0/8"));
    const local = await resolveConfig({
      listen: [{ hostname: "127.0.0.1", port: 1080 }, { hostname: "::1", port: 1080 }],
      network,
    });
    assert.deepEqual(local.protectedDestinations, []);
    const chosen = await resolveConfig({
      listen: [{ hostname: "0.0.0.0", port: 1080 }],
      users,
      network,
      protectedDestinations: [],
    });
    assert.deepEqual(chosen.protectedDestinations, []);
  });

  let echo: Awaited<ReturnType<typeof echoServer>>;
  before(async () => (echo = await echoServer()));
  after(async () => await echo.close());

  /** A server with the exposed defaults and `rules`; a CONNECT to `destination` gives this reply code. */
  async function replyFor(rules: Rule[], destination: HostPort): Promise<number> {
    const server: Server = await testServer({
      network: loopbackOnly(),
      protectedDestinations: PROTECTED_WHEN_EXPOSED,
      rules,
    });
    try {
      const { client, reply: { reply } } = await socks5Connect(server.endpoint, destination);
      client.close();
      await server.nextRecord();
      return reply;
    } finally {
      await server.close();
    }
  }
  const ip = (host: string, port = echo.address.port): HostPort => ({
    address: host.includes(":") ? { type: "ipv6", host } : { type: "ipv4", host },
    port,
  });
  const name = (host: string): HostPort => ({ address: { type: "domain", host }, port: echo.address.port });

  it("deny loopback, 0.0.0.0, IPv4-mapped loopback, names resolving there, and link-local: 0x02", async () => {
    for (const destination of [ip("127.0.0.1"), ip("127.1.2.3"), ip("0.0.0.0"), ip("::ffff:127.0.0.1"), ip("::1")]) {
      assert.equal(await replyFor([], destination), 0x02, JSON.stringify(destination));
    }
    assert.equal(await replyFor([], name("localhost")), 0x02, "a name that resolves to loopback");
    // Denied before any connect: the test network would answer 0x03 for a non-loopback attempt.
    assert.equal(await replyFor([], ip("169.254.169.254", 80)), 0x02);
    assert.equal(await replyFor([], ip("fe80::1", 80)), 0x02);
  });

  it("a catch-all allow or a name rule does not open them; a rule naming the range does", async () => {
    assert.equal(await replyFor([{ action: "allow" }], ip("127.0.0.1")), 0x02);
    assert.equal(await replyFor([{ action: "allow", destinations: ["localhost"] }], name("localhost")), 0x02);
    assert.equal(await replyFor([{ action: "allow", destinations: ["127.0.0.1/32"] }], ip("127.0.0.1")), 0x00);
    assert.equal(await replyFor([{ action: "allow", destinations: ["127.0.0.0/8"] }], name("localhost")), 0x00);
    // The range rule must be the one that decides: a deny before it still wins.
    const denyFirst: Rule[] = [{ action: "deny", ports: [String(echo.address.port)] }, {
      action: "allow",
      destinations: ["127.0.0.0/8"],
    }];
    assert.equal(await replyFor(denyFirst, ip("127.0.0.1")), 0x02);
  });
});

describe("passwords and the log", () => {
  it("no password appears in a log line, in text or JSON, whether authentication succeeds or fails", async () => {
    const server = await testServer({ users: new Map([["alice", "Pa55-w0rd!"]]) });
    const echo = await echoServer();
    try {
      for (const password of ["Pa55-w0rd!", "wr0ng-Pa55"]) {
        const client = await rawClient(server.endpoint);
        await client.send(concat(
          encodeSocks5Greeting({ methods: [2] }),
          encodeUserPassRequest({ username: "alice", password }),
          encodeSocks5Request({
            command: 1,
            destination: { address: { type: "ipv4", host: "127.0.0.1" }, port: echo.address.port },
          }),
        ));
        await client.reader.read(decodeSocks5MethodSelection);
        await client.reader.read(decodeUserPassReply);
        client.close();
        const record = await server.nextRecord();
        for (const line of [formatRecord(record, "text"), formatRecord(record, "json"), JSON.stringify(record)]) {
          assert.ok(!line.includes(password), line);
          assert.ok(line.includes("alice") || record.outcome === "auth-failed", line);
        }
      }
    } finally {
      await server.close();
      await echo.close();
    }
  });
});
