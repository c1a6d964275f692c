/** fetch through tabi's own SOCKS server, and the one-shot `socksFetch` (its bridge closes with the body). */
import assert from "node:assert/strict";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { createSocksFetch, socksCause, socksFetch } from "../../mod.ts";
import { closedPort, testServer } from "../helpers/net.ts";
import { eventually, type Origin, ownListeningPorts, startOrigin } from "./fetch_fixtures.ts";
import { fetchSuite, usesBridge } from "./fetch_suite.ts";

fetchSuite("tabi's server", async () => {
  const main = await testServer();
  const second = await testServer();
  const refusing = await testServer({ rules: [{ action: "deny" }] });
  const port = main.endpoint.port;
  return {
    proxy: `socks5h://127.0.0.1:${port}`,
    leakyProxy: `socks5://127.0.0.1:${port}`,
    port,
    chain: [`socks4a://127.0.0.1:${port}`, `socks5h://127.0.0.1:${second.endpoint.port}`],
    refusing: {
      proxy: `socks5h://127.0.0.1:${refusing.endpoint.port}`,
      url: (originPort) => `http://localhost:${originPort}/refused`,
      reply: 0x02,
    },
    logShowsName: (originPort) =>
      main.records.some((r) => r.destination === `localhost:${originPort}`) &&
      !main.records.some((r) => r.destination === `127.0.0.1:${originPort}`),
    async close() {
      await Promise.all([main.close(), second.close(), refusing.close()]);
    },
  };
});

describe("socksFetch (one request)", () => {
  let origin: Origin;
  let server: Awaited<ReturnType<typeof testServer>>;
  before(async () => {
    origin = await startOrigin();
    server = await testServer();
  });
  after(async () => {
    await server?.close();
    await origin?.close();
  });

  it("fetches through the proxy; its bridge (none in Deno) closes once the body is read", async () => {
    const baseline = ownListeningPorts();
    const response = await socksFetch(`http://localhost:${origin.port}/once`, {
      proxy: `socks5h://127.0.0.1:${server.endpoint.port}`,
    });
    assert.equal(ownListeningPorts().size, baseline.size + (usesBridge ? 1 : 0));
    assert.equal(await response.text(), "hello from /once");
    assert.equal(response.url, `http://localhost:${origin.port}/once`);
    assert.ok(await eventually(() => ownListeningPorts().size === baseline.size));
    assert.ok(await eventually(() => server.activeConnections === 0));
    assert.ok(server.records.some((r) => r.destination === `localhost:${origin.port}`));
  });

  it("a refusal closes the bridge too, and its cause is the SocksError", async () => {
    const baseline = ownListeningPorts();
    const error = await socksFetch(`http://localhost:${await closedPort()}/`, {
      proxy: `socks5h://127.0.0.1:${server.endpoint.port}`,
    })
      .catch((e) => e);
    assert.equal(socksCause(error)?.code, "connection-refused", String(error));
    assert.deepEqual(ownListeningPorts(), baseline);
  });

  it("a chain whose second hop refuses: the cause names the hop and its reply", async () => {
    const refusing = await testServer({ rules: [{ action: "deny" }] });
    try {
      await using fetch = createSocksFetch({
        proxy: [`socks5h://127.0.0.1:${server.endpoint.port}`, `socks4a://127.0.0.1:${refusing.endpoint.port}`],
      });
      const error = await fetch(`http://localhost:${origin.port}/`).catch((e) => e);
      assert.ok(error instanceof TypeError);
      assert.equal(socksCause(error)?.hop, 2, String(socksCause(error)));
      assert.equal(socksCause(error)?.reply, 91, "SOCKS4's 'rejected or failed'");
    } finally {
      await refusing.close();
    }
  });

  it("socks5:// with allowLocalDns: the name is resolved here and the proxy gets an address", async () => {
    const seen = server.records.length;
    await using fetch = createSocksFetch({ proxy: `socks5://127.0.0.1:${server.endpoint.port}`, allowLocalDns: true });
    assert.equal(await (await fetch(`http://localhost:${origin.port}/local`)).text(), "hello from /local");
    await fetch.close();
    assert.ok(await eventually(() => server.records.length > seen));
    const destinations = server.records.slice(seen).map((r) => r.destination);
    assert.ok(destinations.every((d) => /^(127\.0\.0\.1|\[::1\]):\d+$/.test(d ?? "")), destinations.join(", "));
  });

  it("an explicit proxy is used even for hosts NO_PROXY lists (no direct connection, no local lookup)", async () => {
    const saved = { upper: process.env.NO_PROXY, lower: process.env.no_proxy };
    try {
      process.env.NO_PROXY = process.env.no_proxy = "localhost,127.0.0.1,::1";
      const seen = server.records.length;
      await using fetch = createSocksFetch({ proxy: `socks5h://127.0.0.1:${server.endpoint.port}` });
      assert.equal(await (await fetch(`http://localhost:${origin.port}/np`)).text(), "hello from /np");
      assert.equal(process.env.NO_PROXY, "localhost,127.0.0.1,::1", "NO_PROXY is restored");
      await fetch.close();
      assert.ok(
        await eventually(() => server.records.slice(seen).some((r) => r.destination === `localhost:${origin.port}`)),
        "the request did not go through the proxy",
      );
    } finally {
      for (const [name, value] of [["NO_PROXY", saved.upper], ["no_proxy", saved.lower]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it("without `proxy`, ALL_PROXY and NO_PROXY decide", async () => {
    const saved = { all: process.env.ALL_PROXY, no: process.env.NO_PROXY };
    try {
      process.env.ALL_PROXY = `socks5h://127.0.0.1:${server.endpoint.port}`;
      process.env.NO_PROXY = "direct.localhost";
      const seen = server.records.length;
      assert.equal(await (await socksFetch(`http://localhost:${origin.port}/env`)).text(), "hello from /env");
      assert.ok(await eventually(() => server.records.length > seen), "the request did not go through the proxy");
      process.env.ALL_PROXY = "socks5://127.0.0.1:1";
      const error = await socksFetch(`http://localhost:${origin.port}/env`).catch((e) => e);
      assert.equal(socksCause(error)?.code, "dns-leak");
      process.env.NO_PROXY = "localhost";
      assert.equal(await (await socksFetch(`http://localhost:${origin.port}/direct`)).text(), "hello from /direct");
    } finally {
      for (const [name, value] of [["ALL_PROXY", saved.all], ["NO_PROXY", saved.no]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
