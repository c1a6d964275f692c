import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Network } from "../../lib/net/network.ts";
import { formatRecord } from "../../lib/server/connection_record.ts";
import { UNSAFE_REASON } from "../../lib/server/safe_socks.ts";
import { startServer } from "../../lib/server/server.ts";
import { decodeSocks4Reply, encodeSocks4Request, type Socks4Request } from "../../lib/wire/socks4.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeUserPassReply, encodeUserPassRequest } from "../../lib/wire/userpass.ts";
import { concat } from "../helpers/bytes.ts";
import { echoServer, network, rawClient, socks5Connect, testServer } from "../helpers/net.ts";
import { run } from "../helpers/process.ts";
import { requirePeer } from "../helpers/peers.ts";
import { httpServer, payload, sameBytes } from "../helpers/targets.ts";

type Server = Awaited<ReturnType<typeof testServer>>;
type Echo = Awaited<ReturnType<typeof echoServer>>;

const ipv4 = (port: number) => ({ address: { type: "ipv4" as const, host: "127.0.0.1" }, port });
const ipv6 = (port: number) => ({ address: { type: "ipv6" as const, host: "::1" }, port });
const name = (host: string, port: number) => ({ address: { type: "domain" as const, host }, port });

async function socks4(server: Server, command: 1 | 2, destination: Socks4Request["destination"]): Promise<number> {
  const client = await rawClient(server.endpoint);
  await client.send(encodeSocks4Request({ command, destination, userId: "" }));
  const { reply } = await client.reader.read(decodeSocks4Reply);
  client.close();
  return reply;
}

async function socks5(server: Server, destination: Parameters<typeof socks5Connect>[1]): Promise<number> {
  const { client, reply } = await socks5Connect(server.endpoint, destination);
  client.close();
  return reply.reply;
}

describe("--safe-socks (Tor's SafeSocks)", () => {
  let server: Server;
  let echo: Echo;
  let echo6: Echo;
  before(async () => {
    server = await testServer({ safeSocks: true });
    echo = await echoServer();
    echo6 = await echoServer("::1");
  });
  after(async () => {
    echo.close();
    echo6.close();
    await server.close();
  });

  for (
    const [label, send, expected, type] of [
      ["SOCKS4 CONNECT to an address: 91", () => socks4(server, 1, ipv4(echo.address.port)), 91, "ipv4"],
      ["SOCKS4 BIND with an address: 91", () => socks4(server, 2, ipv4(echo.address.port)), 91, "ipv4"],
      ["SOCKS5 CONNECT with ATYP IPv4: 0x02", () => socks5(server, ipv4(echo.address.port)), 0x02, "ipv4"],
      ["SOCKS5 CONNECT with ATYP IPv6: 0x02", () => socks5(server, ipv6(echo6.address.port)), 0x02, "ipv6"],
    ] as const
  ) {
    it(`${label}, logged as unsafe with the reason`, async () => {
      assert.equal(await send(), expected);
      const record = await server.nextRecord();
      assert.equal(record.reply, expected);
      assert.equal(record.addressType, type);
      assert.equal(record.safety, UNSAFE_REASON);
      assert.equal(record.outcome, "not-allowed");
      assert.ok(record.error?.startsWith(UNSAFE_REASON), record.error);
      assert.ok(formatRecord(record, "text").includes(`safety="${UNSAFE_REASON}"`));
      assert.equal(echo.accepted.length + echo6.accepted.length, 0, "nothing was connected");
    });
  }

  for (
    const [label, send, expected, version] of [
      ["SOCKS4a CONNECT with a name: 90", () => socks4(server, 1, name("localhost", echo.address.port)), 90, "4a"],
      ["SOCKS5 CONNECT with a name: 0x00", () => socks5(server, name("localhost", echo.address.port)), 0, "5"],
    ] as const
  ) {
    it(`${label}, logged as safe`, async () => {
      assert.equal(await send(), expected);
      const record = await server.nextRecord();
      assert.equal(record.version, version);
      assert.equal(record.addressType, "domain");
      assert.equal(record.safety, "safe");
      assert.equal(record.outcome, "ok");
    });
  }

  it("curl --socks5-hostname passes; curl --socks5 (it resolves itself) is refused", async () => {
    requirePeer("curl");
    const body = payload(10_000);
    const web = await httpServer("127.0.0.1", body);
    try {
      const proxy = `127.0.0.1:${server.endpoint.port}`;
      const url = `http://localhost:${web.port}/`;
      const ok = await run("curl", ["-sS", "--max-time", "10", "--socks5-hostname", proxy, url]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(sameBytes(ok.stdout, body));
      assert.equal((await server.nextRecord()).safety, "safe");
      const refused = await run("curl", ["-sS", "--max-time", "10", "--socks5", proxy, url]);
      // curl 97: "proxy handshake error", with the REP in parentheses.
      assert.notEqual(refused.code, 0);
      assert.equal(refused.code, 97, refused.stderr);
      assert.match(refused.stderr, /\(2\)/, "REP 0x02");
      const record = await server.nextRecord();
      assert.equal(record.safety, UNSAFE_REASON);
      assert.equal(record.reply, 0x02);
    } finally {
      web.close();
    }
  });
});

describe("--test-socks (Tor's TestSocks)", () => {
  let server: Server;
  let echo: Echo;
  before(async () => {
    server = await testServer({ testSocks: true });
    echo = await echoServer();
  });
  after(async () => {
    echo.close();
    await server.close();
  });

  it("an address is served, and its record says it was unsafe; a name, that it was safe", async () => {
    assert.equal(await socks5(server, ipv4(echo.address.port)), 0);
    const unsafe = await server.nextRecord();
    assert.equal(unsafe.outcome, "ok");
    assert.equal(unsafe.safety, UNSAFE_REASON);
    assert.equal(await socks4(server, 1, ipv4(echo.address.port)), 90);
    assert.equal((await server.nextRecord()).safety, UNSAFE_REASON);
    assert.equal(await socks5(server, name("localhost", echo.address.port)), 0);
    assert.equal((await server.nextRecord()).safety, "safe");
  });
});

describe("--accept-any-credentials (stream isolation)", () => {
  let server: Server;
  let echo: Echo;
  before(async () => {
    server = await testServer({ acceptAnyCredentials: true });
    echo = await echoServer();
  });
  after(async () => {
    echo.close();
    await server.close();
  });

  it("any username and password pass; the username is the label, the password is never logged", async () => {
    for (const [username, password] of [["site-a", "x"], ["site-b", "another secret"]]) {
      const client = await rawClient(server.endpoint);
      await client.send(encodeSocks5Greeting({ methods: [0, 2] }));
      assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 2, "username/password preferred");
      await client.send(concat(
        encodeUserPassRequest({ username, password }),
        encodeSocks5Request({ command: 1, destination: ipv4(echo.address.port) }),
      ));
      assert.equal((await client.reader.read(decodeUserPassReply)).status, 0);
      assert.equal((await client.reader.read(decodeSocks5Reply)).reply, 0);
      client.close();
      const record = await server.nextRecord();
      assert.equal(record.label, username);
      assert.equal(record.user, undefined, "not an authenticated user");
      for (const format of ["text", "json"] as const) {
        assert.ok(!formatRecord(record, format).includes(password), formatRecord(record, format));
      }
    }
  });

  it("a client without credentials is still served (no-auth)", async () => {
    assert.equal(await socks5(server, ipv4(echo.address.port)), 0);
    const record = await server.nextRecord();
    assert.equal(record.label, undefined);
    assert.equal(record.outcome, "ok");
  });

  it("refused at start together with users", async () => {
    await assert.rejects(
      startServer({
        listen: [{ hostname: "127.0.0.1", port: 0 }],
        network,
        users: new Map([["alice", "pw"]]),
        acceptAnyCredentials: true,
      }),
      /only for a server without users/,
    );
  });

  it("torsocks -i (a made-up username/password per process) goes through", async () => {
    requirePeer("torsocks");
    requirePeer("curl");
    const body = payload(5_000);
    const web = await httpServer("127.0.0.1", body);
    // torsocks sends nothing for loopback through the proxy, so the test site gets an address from TEST-NET-1
    // that only this server's Network knows: it resolves (Tor's RESOLVE, as torsocks asks) and connects to it.
    const SITE = "192.0.2.10";
    const mapped: Network = {
      ...network,
      resolve: (host) => host === "isolated.test" ? Promise.resolve([SITE]) : network.resolve(host),
      connect: (options) =>
        network.connect(options.hostname === SITE ? { ...options, hostname: "127.0.0.1" } : options),
    };
    const isolating = await testServer({ acceptAnyCredentials: true, resolveExtension: true, network: mapped });
    const dir = mkdtempSync(join(tmpdir(), "tabi-torsocks-"));
    try {
      const conf = join(dir, "torsocks.conf");
      writeFileSync(conf, `TorAddress 127.0.0.1\nTorPort ${isolating.endpoint.port}\n`);
      const result = await run("torsocks", [
        "-i",
        "curl",
        "-sS",
        "--max-time",
        "10",
        `http://isolated.test:${web.port}/`,
      ], {
        env: { TORSOCKS_CONF_FILE: conf },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(sameBytes(result.stdout, body));
      // torsocks asks RESOLVE for the name, then CONNECTs to the address (each record comes at its connection's end).
      const records = [await isolating.nextRecord(), await isolating.nextRecord()];
      assert.deepEqual(records.map((r) => r.command).sort(), ["connect", "resolve"]);
      const connect = records.find((r) => r.command === "connect")!;
      assert.equal(connect.outcome, "ok");
      assert.match(connect.label ?? "", /\S/, "torsocks -i sent a username, logged as the label");
      assert.equal(connect.user, undefined);
      assert.equal(records[0].label, records[1].label, "one process, one isolation label");
    } finally {
      rmSync(dir, { recursive: true, force: true });
      web.close();
      await isolating.close();
    }
  });
});
