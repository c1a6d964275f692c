import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
// The package root's calls: they fill in the running runtime's Network (lib/client's calls need it named).
import { associate, bind, connect, resolve, resolvePtr, type Tunnel } from "../../mod.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { closedPort, echoServer, network, sleep, testServer } from "../helpers/net.ts";

type Server = Awaited<ReturnType<typeof testServer>>;

/** Writes `bytes`, half-closes, and reads everything back. */
async function roundTrip(tunnel: Tunnel, bytes: number[]): Promise<number[]> {
  const writer = tunnel.writable.getWriter();
  await writer.write(new Uint8Array(bytes));
  await writer.close();
  const out: number[] = [];
  for await (const chunk of tunnel.readable) out.push(...chunk);
  tunnel.close();
  return out;
}

/** A resolver that fails the test if anything calls it: the proof that no local lookup happens. */
const noLookups = {
  resolve: (name: string): Promise<string[]> => {
    assert.fail(`local DNS lookup of ${name}`);
  },
};

describe("client against tabi's own server", () => {
  let server: Server;
  let authed: Server;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let echo6: Awaited<ReturnType<typeof echoServer>>;
  const at = (s: Server) => `127.0.0.1:${s.endpoint.port}`;
  before(async () => {
    server = await testServer({ resolveExtension: true });
    authed = await testServer({ users: new Map([["alice", "s3cret"], ["Fred", "x"]]), allowSocks4UserId: true });
    echo = await echoServer();
    echo6 = await echoServer("::1");
  });
  after(async () => {
    echo.close();
    echo6.close();
    await server.close();
    await authed.close();
  });

  for (
    const [scheme, host] of [
      ["socks4", "127.0.0.1"],
      ["socks4a", "localhost"],
      ["socks5", "127.0.0.1"],
      ["socks5", "[::1]"],
      ["socks5h", "localhost"],
      ["socks", "localhost"],
    ]
  ) {
    it(`CONNECT via ${scheme}:// to ${host}, with no local lookup`, async () => {
      const port = host === "[::1]" ? echo6.address.port : echo.address.port;
      const tunnel = await connect(`${scheme}://${at(server)}`, `${host}:${port}`, noLookups);
      assert.ok(tunnel.bound.port > 0);
      assert.deepEqual(await roundTrip(tunnel, [1, 2, 3, 4]), [1, 2, 3, 4]);
      const record = await server.nextRecord();
      assert.equal(record.version, scheme === "socks4a" ? "4a" : scheme.startsWith("socks4") ? "4" : "5");
      assert.equal(record.destination, `${host}:${port}`);
    });
  }

  it("username/password (SOCKS5) and USERID (SOCKS4) authentication; wrong password names the failure", async () => {
    const t5 = await connect(`socks5h://alice:s3cret@${at(authed)}`, `localhost:${echo.address.port}`);
    assert.deepEqual(await roundTrip(t5, [5]), [5]);
    const t4 = await connect(`socks4a://Fred@${at(authed)}`, `localhost:${echo.address.port}`);
    assert.deepEqual(await roundTrip(t4, [4]), [4]);
    await assert.rejects(
      connect(`socks5h://alice:nope@${at(authed)}`, `localhost:${echo.address.port}`),
      (e) => e instanceof SocksError && e.code === "auth-failed" && /refused username\/password/.test(e.message),
    );
    await assert.rejects(
      connect(`socks5h://${at(authed)}`, `localhost:${echo.address.port}`),
      (e) => e instanceof SocksError && e.code === "auth-failed" && e.reply === 0xff,
    );
    await assert.rejects(
      connect(`socks4a://Mallory@${at(authed)}`, `localhost:${echo.address.port}`),
      (e) => e instanceof SocksError && e.code === "rejected" && e.reply === 91,
    );
    for (let i = 0; i < 5; i++) await authed.nextRecord();
  });

  it("failure replies carry the proxy's code and meaning", async () => {
    const refused = await closedPort();
    await assert.rejects(
      connect(`socks5h://${at(server)}`, `127.0.0.1:${refused}`),
      (e) =>
        e instanceof SocksError && e.code === "connection-refused" && e.reply === 0x05 && e.hop === 1 &&
        /connection refused \(0x05\)/.test(e.message),
    );
    await assert.rejects(
      connect(`socks4a://${at(server)}`, `127.0.0.1:${refused}`),
      (e) => e instanceof SocksError && e.reply === 91 && /request rejected or failed \(91\)/.test(e.message),
    );
    await assert.rejects(
      connect(`socks5h://${at(server)}`, "no-such-host.invalid:80"),
      (e) => e instanceof SocksError && e.code === "host-unreachable" && e.reply === 0x04,
    );
    for (let i = 0; i < 3; i++) await server.nextRecord();
  });

  it("BIND via SOCKS4 and SOCKS5: bound address, then the peer's tunnel", async () => {
    for (const scheme of ["socks4", "socks5"]) {
      const binding = await bind(`${scheme}://${at(server)}`, "127.0.0.1:0");
      assert.equal(binding.bound.address.host, "127.0.0.1");
      const peer = await network.connect({ hostname: "127.0.0.1", port: binding.bound.port });
      const tunnel = await binding.accepted;
      assert.equal(tunnel.bound.port, peer.localAddress.port);
      const peerWriter = peer.writable.getWriter();
      await peerWriter.write(new Uint8Array([7, 8]));
      await peerWriter.close();
      const got: number[] = [];
      for await (const chunk of tunnel.readable) got.push(...chunk);
      assert.deepEqual(got, [7, 8]);
      tunnel.close();
      peer.close();
      await server.nextRecord();
    }
  });

  it("UDP ASSOCIATE: datagrams to IPv4 and a name, answers with their senders", async () => {
    const udpEcho = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, (d) => void udpEcho.send(d.data, d.from));
    const association = await associate(`socks5h://${at(server)}`, noLookups);
    try {
      const reader = association.datagrams.getReader();
      await association.send(new Uint8Array([1, 1]), `127.0.0.1:${udpEcho.address.port}`);
      const first = await reader.read();
      assert.deepEqual([...first.value!.data], [1, 1]);
      assert.deepEqual(first.value!.from, { address: { type: "ipv4", host: "127.0.0.1" }, port: udpEcho.address.port });
      await association.send(new Uint8Array([2, 2, 2]), `localhost:${udpEcho.address.port}`);
      assert.deepEqual([...(await reader.read()).value!.data], [2, 2, 2]);
      association.close();
      assert.equal((await reader.read()).done, true);
      assert.equal((await server.nextRecord()).command, "udp-associate");
    } finally {
      udpEcho.close();
    }
  });

  it("RESOLVE and RESOLVE_PTR on the proxy, with no local lookup", async () => {
    assert.deepEqual(await resolve(`socks5h://${at(server)}`, "localhost", noLookups), {
      type: "ipv4",
      host: "127.0.0.1",
    });
    assert.equal(await resolvePtr(`socks5h://${at(server)}`, "127.0.0.1", noLookups), "localhost");
    await server.nextRecord();
    await server.nextRecord();
  });
});

describe("chains (多段)", () => {
  it("a 3-hop chain of mixed versions: socks4a -> socks5 (user/pass) -> socks5h", async () => {
    const echo = await echoServer();
    const one = await testServer();
    const two = await testServer({ users: new Map([["bob", "pw"]]) });
    const three = await testServer();
    try {
      const chain = [
        `socks4a://127.0.0.1:${one.endpoint.port}`,
        `socks5://bob:pw@127.0.0.1:${two.endpoint.port}`,
        `socks5h://127.0.0.1:${three.endpoint.port}`,
      ];
      const tunnel = await connect(chain, `localhost:${echo.address.port}`, noLookups);
      assert.deepEqual(await roundTrip(tunnel, [9, 9, 9]), [9, 9, 9]);
      assert.equal((await one.nextRecord()).destination, `127.0.0.1:${two.endpoint.port}`);
      const second = await two.nextRecord();
      assert.equal(second.user, "bob");
      assert.equal(second.destination, `127.0.0.1:${three.endpoint.port}`);
      assert.equal((await three.nextRecord()).destination, `localhost:${echo.address.port}`);
    } finally {
      echo.close();
      await Promise.all([one.close(), two.close(), three.close()]);
    }
  });

  it("a failure at each hop names that hop", async () => {
    const echo = await echoServer();
    const one = await testServer();
    const two = await testServer({ rules: [{ action: "deny" }] });
    const three = await testServer();
    const dead = await closedPort();
    try {
      const p1 = `socks5h://127.0.0.1:${one.endpoint.port}`;
      const p2 = `socks4a://127.0.0.1:${two.endpoint.port}`;
      const p3 = `socks5h://127.0.0.1:${three.endpoint.port}`;
      // Hop 1 is down.
      await assert.rejects(
        connect([`socks5h://127.0.0.1:${dead}`, p3], `localhost:${echo.address.port}`),
        (e) => e instanceof SocksError && e.hop === 1 && e.code === "connection-refused",
      );
      // Hop 1 cannot reach hop 2.
      await assert.rejects(
        connect([p1, `socks5h://127.0.0.1:${dead}`, p3], `localhost:${echo.address.port}`),
        (e) => e instanceof SocksError && e.hop === 1 && e.reply === 0x05 && /^hop 1 \(socks5h:/.test(e.message),
      );
      // Hop 2's rules deny everything.
      await assert.rejects(
        connect([p1, p2, p3], `localhost:${echo.address.port}`),
        (e) => e instanceof SocksError && e.hop === 2 && e.reply === 91 && /^hop 2 \(socks4a:/.test(e.message),
      );
      // Hop 3 cannot reach the destination.
      await assert.rejects(
        connect([p1, p3], `127.0.0.1:${dead}`),
        (e) => e instanceof SocksError && e.hop === 2 && e.code === "connection-refused",
      );
    } finally {
      echo.close();
      await Promise.all([one.close(), two.close(), three.close()]);
    }
  });
});

describe("DNS-leak policy", () => {
  it("socks4:// and socks5:// with a name are refused before anything is sent", async () => {
    for (const url of ["socks4://127.0.0.1:9", "socks5://127.0.0.1:9"]) {
      await assert.rejects(
        connect(url, "example.com:443", noLookups),
        (e) => e instanceof SocksError && e.code === "dns-leak" && /socks(4a|5h):\/\//.test(e.message),
      );
    }
    // The same in the middle of a chain: hop 1 would resolve hop 2's name here.
    await assert.rejects(
      connect(["socks5://127.0.0.1:9", "socks5h://next.example:1080"], "a:1", noLookups),
      (e) => e instanceof SocksError && e.code === "dns-leak",
    );
  });
  it("with local resolution allowed, the name is looked up once, here, and an address is sent", async () => {
    const echo = await echoServer();
    const server = await testServer();
    const asked: string[] = [];
    try {
      const tunnel = await connect(`socks5://127.0.0.1:${server.endpoint.port}`, `myhost.test:${echo.address.port}`, {
        allowLocalDns: true,
        resolve: (name) => {
          asked.push(name);
          return Promise.resolve(["127.0.0.1"]);
        },
      });
      assert.deepEqual(await roundTrip(tunnel, [3]), [3]);
      assert.deepEqual(asked, ["myhost.test"]);
      assert.equal((await server.nextRecord()).destination, `127.0.0.1:${echo.address.port}`);
    } finally {
      echo.close();
      await server.close();
    }
  });
  it("SOCKS4 cannot carry IPv6", async () => {
    await assert.rejects(
      connect("socks4a://127.0.0.1:9", "[::1]:80", noLookups),
      (e) => e instanceof SocksError && e.code === "bad-address-type",
    );
  });
});

describe("client timeouts and abort", () => {
  it("a proxy that never answers: timeout, naming the hop", async () => {
    // A listener that accepts and then says nothing.
    const silent = await network.listen({ hostname: "127.0.0.1", port: 0 }, () => {});
    try {
      const started = Date.now();
      await assert.rejects(
        connect(`socks5h://127.0.0.1:${silent.address.port}`, "a:1", { timeoutMs: 200 }),
        (e) => e instanceof SocksError && e.code === "timeout" && e.hop === 1,
      );
      assert.ok(Date.now() - started < 5000);
    } finally {
      silent.close();
    }
  });
  it("an AbortSignal gives up the setup", async () => {
    const silent = await network.listen({ hostname: "127.0.0.1", port: 0 }, () => {});
    try {
      const controller = new AbortController();
      const pending = connect(`socks5h://127.0.0.1:${silent.address.port}`, "a:1", { signal: controller.signal });
      await sleep(50);
      controller.abort();
      await assert.rejects(pending, (e) => e instanceof SocksError && e.code === "aborted");
    } finally {
      silent.close();
    }
  });
});
