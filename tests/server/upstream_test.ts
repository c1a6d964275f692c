import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect } from "../../lib/client/connect.ts";
import type { Network } from "../../lib/net/network.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { closedPort, echoServer, loopbackOnly, network, rawClient, socks5Connect, testServer } from "../helpers/net.ts";
import { ascii, ask, httpOrigin } from "../helpers/http.ts";
import { concat } from "../helpers/bytes.ts";
import { payload } from "../helpers/targets.ts";

type Server = Awaited<ReturnType<typeof testServer>>;

/** A network that records every name it is asked to resolve: the proof that a name was (not) looked up here. */
function recordingLookups(inner: Network): Network & { lookups: string[] } {
  const lookups: string[] = [];
  return { ...inner, lookups, resolve: (name) => (lookups.push(name), inner.resolve(name)) };
}

/** Waits until `condition` holds (a log record is written when its tunnel ends, a moment after the client's). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(condition(), "not within 5 s");
}

const name = (host: string, port: number) => ({ address: { type: "domain" as const, host }, port });
const url = (scheme: string, server: Server, auth = "") => `${scheme}://${auth}127.0.0.1:${server.endpoint.port}`;

describe("upstream chains", () => {
  let socks5Hop: Server;
  let httpHop: Server;
  let socks4Hop: Server;
  let authHop: Server;
  let denyingHop: Server;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let origin: Awaited<ReturnType<typeof httpOrigin>>;
  let dead: number;
  before(async () => {
    socks5Hop = await testServer({ network: loopbackOnly() });
    httpHop = await testServer({ network: loopbackOnly(), protocols: ["http"] });
    socks4Hop = await testServer({ network: loopbackOnly(), protocols: ["socks4"] });
    authHop = await testServer({ network: loopbackOnly(), users: new Map([["u", "pw"]]) });
    echo = await echoServer();
    origin = await httpOrigin("127.0.0.1", payload);
    denyingHop = await testServer({
      network: loopbackOnly(),
      rules: [{ action: "deny", ports: [String(echo.address.port)] }, { action: "allow" }],
    });
    dead = await closedPort();
  });
  after(async () => {
    echo.close();
    origin.close();
    for (const s of [socks5Hop, httpHop, socks4Hop, authHop, denyingHop]) await s.close();
  });

  async function front(upstream: string[], extra: Parameters<typeof testServer>[0] = {}) {
    const net = recordingLookups(loopbackOnly());
    const server = await testServer({ network: net, upstream, ...extra });
    return Object.assign(server, { lookups: net.lookups });
  }

  it("socks5h -> http -> socks4a: SOCKS5, HTTP CONNECT and HTTP forwarding all go through, no name looked up here", async () => {
    const server = await front([url("socks5h", socks5Hop), url("http", httpHop), url("socks4a", socks4Hop)]);
    try {
      const { client, reply } = await socks5Connect(server.endpoint, name("localhost", echo.address.port), ascii("hi"));
      assert.equal(reply.reply, 0);
      assert.equal(new TextDecoder().decode(await client.reader.readExactly(2)), "hi");
      client.close();
      const tunnel = await ask(server.endpoint, `CONNECT localhost:${echo.address.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(tunnel.status, 200);
      await tunnel.client.send(ascii("ping"));
      assert.equal(new TextDecoder().decode(await tunnel.client.reader.readExactly(4)), "ping");
      tunnel.client.close();
      const forwarded = await ask(
        server.endpoint,
        `GET http://localhost:${origin.port}/bytes?n=10 HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      assert.equal(forwarded.status, 200);
      assert.deepEqual([...forwarded.body], [...payload(10)]);
      forwarded.client.close();
      assert.deepEqual(server.lookups, [], "the front server resolved a name itself");
      // Each hop saw its part: the last one resolved the name.
      assert.ok(socks4Hop.records.some((r) => r.destination === `localhost:${echo.address.port}`));
    } finally {
      await server.close();
    }
  });

  it("a socks5:// (local DNS) last hop: the name is resolved here and an address passed on", async () => {
    const server = await front([url("socks5", socks5Hop)]);
    try {
      const { client, reply } = await socks5Connect(server.endpoint, name("localhost", echo.address.port));
      assert.equal(reply.reply, 0);
      client.close();
      assert.deepEqual(server.lookups, ["localhost"]);
      await until(() => socks5Hop.records.some((r) => /^(127\.0\.0\.1|\[::1\]):/.test(r.destination ?? "")));
    } finally {
      await server.close();
    }
  });

  const failures: [string, () => string[], () => number, number, number][] = [
    ["hop 1 is down", () => [`socks5h://127.0.0.1:${dead}`, url("http", httpHop)], () => echo.address.port, 0x01, 502],
    [
      "hop 2 wants a password",
      () => [url("socks5h", socks5Hop), url("socks5h", authHop)],
      () => echo.address.port,
      0x01,
      502,
    ],
    [
      "hop 2 (http) wants a password",
      () => [url("http", httpHop), url("http", authHop)],
      () => echo.address.port,
      0x01,
      502,
    ],
    [
      "hop 3 cannot reach the destination",
      () => [url("http", httpHop), url("socks4a", socks4Hop), url("socks5h", socks5Hop)],
      () => dead,
      0x05,
      502,
    ],
    [
      "hop 2 (http, last) cannot reach the destination",
      () => [url("socks5h", socks5Hop), url("http", httpHop)],
      () => dead,
      0x04,
      502,
    ],
    [
      "the last hop's rules deny it",
      () => [url("socks4a", socks4Hop), url("socks5h", denyingHop)],
      () => echo.address.port,
      0x02,
      403,
    ],
    ["hop 1 (socks4a, last) rejects it", () => [url("socks4a", socks4Hop)], () => dead, 0x01, 502],
  ];
  for (const [what, chain, port, socksReply, httpStatus] of failures) {
    it(`${what}: SOCKS5 reply 0x0${socksReply}, HTTP ${httpStatus}`, async () => {
      const server = await front(chain());
      try {
        const { client, reply } = await socks5Connect(server.endpoint, name("localhost", port()));
        assert.equal(reply.reply, socksReply);
        client.close();
        const response = await ask(server.endpoint, `CONNECT localhost:${port()} HTTP/1.1\r\nHost: x\r\n\r\n`);
        assert.equal(response.status, httpStatus);
        response.client.close();
        const forwarded = await ask(server.endpoint, `GET http://localhost:${port()}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
        assert.equal(forwarded.status, httpStatus);
        forwarded.client.close();
        assert.deepEqual(server.lookups, []);
      } finally {
        await server.close();
      }
    });
  }

  it("credentials in the upstream URL open an authenticating hop (SOCKS5 and HTTP Basic)", async () => {
    for (const scheme of ["socks5h", "http"]) {
      const server = await front([url(scheme, authHop, "u:pw@")]);
      try {
        const { client, reply } = await socks5Connect(server.endpoint, name("localhost", echo.address.port));
        assert.equal(reply.reply, 0, scheme);
        client.close();
      } finally {
        await server.close();
      }
    }
  });

  it('a rule\'s upstream overrides the default; "direct" skips it', async () => {
    const other = await echoServer();
    const server = await front([`socks5h://127.0.0.1:${dead}`], {
      rules: [
        { action: "allow", ports: [String(other.address.port)], upstream: [url("socks5h", socks5Hop)] },
        { action: "allow", ports: [String(origin.port)], upstream: "direct" },
        { action: "allow" },
      ],
    });
    try {
      const before = socks5Hop.records.length;
      const via = await socks5Connect(server.endpoint, name("localhost", other.address.port));
      assert.equal(via.reply.reply, 0);
      via.client.close();
      const direct = await ask(
        server.endpoint,
        `GET http://127.0.0.1:${origin.port}/bytes?n=3 HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      assert.equal(direct.status, 200);
      direct.client.close();
      const dflt = await socks5Connect(server.endpoint, name("localhost", echo.address.port));
      assert.equal(dflt.reply.reply, 0x01, "the default upstream (down) was not used");
      dflt.client.close();
      await until(() => socks5Hop.records.length > before);
      assert.ok(socks5Hop.records.slice(before).every((r) => r.destination === `localhost:${other.address.port}`));
      assert.deepEqual(server.lookups, [], "no lookup for routes through socks5h");
    } finally {
      other.close();
      await server.close();
    }
  });

  /** Sends a SOCKS5 request (no-auth) and returns the client and the first reply. */
  async function socks5Request(server: Server, command: 1 | 2 | 3, port = 0) {
    const client = await rawClient(server.endpoint);
    await client.send(concat(
      encodeSocks5Greeting({ methods: [0] }),
      encodeSocks5Request({ command, destination: { address: { type: "ipv4", host: "127.0.0.1" }, port } }),
    ));
    await client.reader.read(decodeSocks5MethodSelection);
    return { client, reply: await client.reader.read(decodeSocks5Reply) };
  }

  it("BIND goes through a single SOCKS5 upstream: its listener, the peer's address, then the relay", async () => {
    const server = await front([url("socks5h", socks5Hop)]);
    try {
      const { client, reply } = await socks5Request(server, 2);
      assert.equal(reply.reply, 0);
      // The upstream listens, not the front server: the first reply names the hop's listener.
      assert.equal(reply.bound.address.host, "127.0.0.1");
      assert.notEqual(reply.bound.port, server.endpoint.port);
      const peer = await network.connect({ hostname: "127.0.0.1", port: reply.bound.port });
      const second = await client.reader.read(decodeSocks5Reply);
      assert.equal(second.reply, 0);
      assert.equal(second.bound.port, peer.localAddress.port);
      const peerWriter = peer.writable.getWriter();
      await peerWriter.write(ascii("from peer"));
      assert.equal(new TextDecoder().decode(await client.reader.readExactly(9)), "from peer");
      client.close();
      peer.close();
      assert.ok(socks5Hop.records.length > 0);
    } finally {
      await server.close();
    }
  });

  it("BIND and UDP ASSOCIATE through a chain, an HTTP or a SOCKS4 upstream are refused with 0x07", async () => {
    const cases: [string[], 2 | 3][] = [
      [[url("socks5h", socks5Hop), url("socks5h", authHop, "u:pw@")], 2],
      [[url("socks5h", socks5Hop), url("socks5h", authHop, "u:pw@")], 3],
      [[url("http", httpHop)], 2],
      [[url("http", httpHop)], 3],
      [[url("socks4a", socks4Hop)], 2],
      [[url("socks4a", socks4Hop)], 3],
    ];
    for (const [chain, command] of cases) {
      const server = await front(chain);
      try {
        const { client, reply } = await socks5Request(server, command);
        assert.equal(reply.reply, 0x07, `${chain.join(" -> ")} command ${command}`);
        client.close();
      } finally {
        await server.close();
      }
    }
  });

  it("the client library reaches through an HTTP proxy hop (tabi's own HTTP CONNECT)", async () => {
    const tunnel = await connect([url("http", httpHop)], `localhost:${echo.address.port}`, { network });
    const writer = tunnel.writable.getWriter();
    await writer.write(ascii("abc"));
    const reader = tunnel.readable.getReader();
    const { value } = await reader.read();
    assert.equal(new TextDecoder().decode(value), "abc");
    tunnel.close();
    await assert.rejects(connect([url("http", authHop)], `localhost:${echo.address.port}`, { network }), {
      code: "auth-failed",
    });
  });
});
