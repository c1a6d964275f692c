import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ConnectionRecord, formatRecord } from "../../lib/server/connection_record.ts";
import { decodeSocks4Reply, encodeSocks4Request, type Socks4Request } from "../../lib/wire/socks4.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeUserPassReply, encodeUserPassRequest } from "../../lib/wire/userpass.ts";
import type { HostPort } from "../../lib/wire/address.ts";
import { concat } from "../helpers/bytes.ts";
import { echoServer, rawClient, socks5Connect, testServer } from "../helpers/net.ts";

type Server = Awaited<ReturnType<typeof testServer>>;
type Echo = Awaited<ReturnType<typeof echoServer>>;

const RFC3339_MS_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ipv4 = (port: number) => ({ address: { type: "ipv4" as const, host: "127.0.0.1" }, port });
const ipv6 = (port: number): HostPort => ({ address: { type: "ipv6", host: "::1" }, port });
const name = (host: string, port: number) => ({ address: { type: "domain" as const, host }, port });

/** A SOCKS4 or 4a CONNECT; resolves with the CD once the tunnel is closed again. */
async function socks4(server: Server, destination: Socks4Request["destination"], userId: string): Promise<number> {
  const client = await rawClient(server.endpoint);
  await client.send(encodeSocks4Request({ command: 1, destination, userId }));
  const reply = await client.reader.read(decodeSocks4Reply);
  client.close();
  return reply.reply;
}

/** A SOCKS5 CONNECT with RFC 1929 username/password; resolves with the REP. */
async function socks5User(server: Server, destination: HostPort, username: string, password: string) {
  const client = await rawClient(server.endpoint);
  await client.send(encodeSocks5Greeting({ methods: [2] }));
  assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 2);
  await client.send(
    concat(encodeUserPassRequest({ username, password }), encodeSocks5Request({ command: 1, destination })),
  );
  assert.equal((await client.reader.read(decodeUserPassReply)).status, 0);
  const reply = await client.reader.read(decodeSocks5Reply);
  client.close();
  return reply.reply;
}

let echo: Echo;
let echo6: Echo;
before(async () => {
  echo = await echoServer();
  echo6 = await echoServer("::1");
});
after(() => {
  echo.close();
  echo6.close();
});

describe("log records without users", () => {
  let server: Server;
  before(async () => (server = await testServer()));
  after(() => server.close());

  it("SOCKS5 IPv4: time, version 5, addressType ipv4, host and port apart; no user", async () => {
    const { client, reply } = await socks5Connect(server.endpoint, ipv4(echo.address.port));
    assert.equal(reply.reply, 0);
    client.close();
    const record = await server.nextRecord();
    assert.match(record.time ?? "", RFC3339_MS_UTC);
    assert.ok(Math.abs(Date.parse(record.time!) - Date.now()) < 60_000, record.time);
    assert.equal(record.version, "5");
    assert.equal(record.addressType, "ipv4");
    assert.equal(record.destination, `127.0.0.1:${echo.address.port}`);
    assert.equal(record.destinationHost, "127.0.0.1");
    assert.equal(record.destinationPort, echo.address.port);
    assert.equal(record.user, undefined);
    assert.equal(record.safety, undefined);
  });

  it("SOCKS5 IPv6: bracketed, addressType ipv6", async () => {
    const { client, reply } = await socks5Connect(server.endpoint, ipv6(echo6.address.port));
    assert.equal(reply.reply, 0);
    client.close();
    const record = await server.nextRecord();
    assert.equal(record.addressType, "ipv6");
    assert.equal(record.destination, `[::1]:${echo6.address.port}`);
    assert.equal(record.destinationHost, "::1");
    const json = JSON.parse(formatRecord(record, "json"));
    assert.equal(json.destination, `[::1]:${echo6.address.port}`);
    assert.equal(json.destinationHost, "::1");
    assert.equal(json.destinationPort, echo6.address.port);
  });

  it("an IPv6 literal sent as a domain name is bracketed too, and its type stays domain", async () => {
    const { client, reply } = await socks5Connect(server.endpoint, name("::1", echo6.address.port));
    assert.equal(reply.reply, 0);
    client.close();
    const record = await server.nextRecord();
    assert.equal(record.addressType, "domain");
    assert.equal(record.destination, `[::1]:${echo6.address.port}`);
    assert.equal(record.destinationHost, "::1");
    assert.match(
      formatRecord(record, "text"),
      new RegExp(` destination=\\[::1\\]:${echo6.address.port} type=domain `),
    );
  });

  it("SOCKS4: version 4, addressType ipv4, the unchecked USERID as userId (not user)", async () => {
    assert.equal(await socks4(server, ipv4(echo.address.port), "fred"), 90);
    const record = await server.nextRecord();
    assert.equal(record.version, "4");
    assert.equal(record.addressType, "ipv4");
    assert.equal(record.userId, "fred");
    assert.equal(record.user, undefined);
    assert.match(formatRecord(record, "text"), / version=socks4 userid=fred /);
  });

  it("SOCKS4a: version 4a, addressType domain", async () => {
    assert.equal(await socks4(server, name("localhost", echo.address.port), ""), 90);
    const record = await server.nextRecord();
    assert.equal(record.version, "4a");
    assert.equal(record.addressType, "domain");
    assert.equal(record.destination, `localhost:${echo.address.port}`);
    assert.equal(record.userId, undefined);
    assert.match(formatRecord(record, "text"), / version=socks4a /);
  });
});

describe("log records with users", () => {
  let server: Server;
  before(async () => {
    server = await testServer({ users: new Map([["alice", "s3cret pass"]]), allowSocks4UserId: true });
  });
  after(() => server.close());

  it("SOCKS5: the authenticated user is logged, the password never", async () => {
    assert.equal(await socks5User(server, name("localhost", echo.address.port), "alice", "s3cret pass"), 0);
    const record = await server.nextRecord();
    assert.equal(record.user, "alice");
    for (const format of ["text", "json"] as const) {
      const line = formatRecord(record, format);
      assert.ok(!line.includes("s3cret"), line);
      assert.ok(line.includes("alice"), line);
    }
  });

  it("SOCKS4 with a USERID checked as a user: logged as user", async () => {
    assert.equal(await socks4(server, ipv4(echo.address.port), "alice"), 90);
    const record = await server.nextRecord();
    assert.equal(record.user, "alice");
    assert.equal(record.userId, undefined);
  });
});

describe("formatRecord", () => {
  const full: ConnectionRecord = {
    time: "2026-11-24T23:59:59.123Z",
    client: "[::1]:5000",
    version: "4a",
    user: "alice",
    label: "iso-1",
    userId: "fred",
    command: "connect",
    destination: "[::1]:9",
    destinationHost: "::1",
    destinationPort: 9,
    addressType: "domain",
    safety: "safe",
    outcome: "not-allowed",
    reply: 91,
    bytesUp: 1,
    bytesDown: 2,
    durationMs: 3,
    error: 'a "quoted" error',
  };

  it("JSON: every field, in the documented order, read back unchanged", () => {
    const line = formatRecord(full, "json");
    assert.deepEqual(JSON.parse(line), full);
    assert.deepEqual(Object.keys(JSON.parse(line)), [
      "time",
      "client",
      "version",
      "user",
      "label",
      "userId",
      "command",
      "destination",
      "destinationHost",
      "destinationPort",
      "addressType",
      "safety",
      "outcome",
      "reply",
      "bytesUp",
      "bytesDown",
      "durationMs",
      "error",
    ]);
  });

  it("text: time first, every field, quoted where needed", () => {
    assert.equal(
      formatRecord(full, "text"),
      "time=2026-11-24T23:59:59.123Z client=[::1]:5000 version=socks4a user=alice label=iso-1 userid=fred " +
        "command=connect destination=[::1]:9 type=domain safety=safe outcome=not-allowed reply=91 up=1 down=2 ms=3 " +
        'error="a \\"quoted\\" error"',
    );
  });

  it("an HTTP request: version=http and its method in text; method in JSON, no SOCKS version", () => {
    const http: ConnectionRecord = {
      time: "2026-11-24T23:59:59.123Z",
      client: "127.0.0.1:1",
      method: "GET",
      command: "http",
      destination: "example.org:80",
      outcome: "ok",
      reply: 200,
      bytesUp: 1,
      bytesDown: 2,
      durationMs: 3,
    };
    assert.match(formatRecord(http, "text"), /^time=\S+ client=127\.0\.0\.1:1 version=http method=GET command=http /);
    const json = JSON.parse(formatRecord(http, "json"));
    assert.equal(json.method, "GET");
    assert.equal(json.version, undefined);
  });

  it("a record without a time gets the current one; a control character in a value is quoted", () => {
    const line = formatRecord({
      client: "127.0.0.1:1",
      outcome: "ok",
      bytesUp: 0,
      bytesDown: 0,
      durationMs: 0,
      userId: "a\u001bb",
    }, "text");
    assert.match(line, /^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
    assert.ok(line.includes('userid="a\\u001bb"'), line);
  });
});
