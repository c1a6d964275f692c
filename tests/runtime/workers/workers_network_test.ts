/**
 * The Workers adapter (lib/runtime/workers/network.ts) in real workerd: a Worker that imports the package root, bundled
 * by esbuild as a user would and run without nodejs_compat (workerd.ts), drives tabi's client against tabi's server,
 * microsocks and Dante on 127.0.0.1. This file only orchestrates (servers, peers, workerd, HTTP calls to the
 * Worker), so it runs the same under Node (tsx), Deno and Bun; every client call runs inside workerd.
 *
 * The client test files themselves (tests/client/) cannot run inside workerd: they are node:test files that start
 * their servers with node:net in the same process, and a Worker has neither. Their cases are mirrored here instead.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, beforeEach, describe, it } from "node:test";
import type { Connection } from "../../../mod.ts";
import { closedPort, echoServer, network, testServer, waitForPort } from "../../helpers/net.ts";
import { requirePeer } from "../../helpers/peers.ts";
import { type Daemon, daemon } from "../../helpers/process.ts";
import { type Dante, startDante } from "../../helpers/dante.ts";
import { eventually, makePki, type Origin, startTlsOrigin } from "../../fetch/fetch_fixtures.ts";
import { startWorkerd, type Workerd } from "./workerd.ts";

const MIB = 1 << 20;
const entry = fileURLToPath(new URL("./worker_entry.ts", import.meta.url));
const PEERS = ["microsocks", "danted", "openssl"];

type Server = Awaited<ReturnType<typeof testServer>>;
type Answer = Record<string, unknown>;

/** An echo answer: every byte came back, in order. */
function assertEchoed(answer: Answer, size = MIB): void {
  assert.deepEqual({ received: answer.received, exact: answer.exact }, { received: size, exact: true });
}

describe("the client in real workerd, from the package root, without nodejs_compat", () => {
  let workerd: Workerd;
  let tabi: Server;
  let authed: Server;
  let denying: Server;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let origin: Origin;
  let stranger: Origin;
  let microsocks: Daemon;
  let microsocksAuthed: Daemon;
  let dante: Dante;
  let microPort: number;
  let microAuthPort: number;
  let dantePort: number;
  const at = (s: Server) => `127.0.0.1:${s.endpoint.port}`;

  beforeEach(() => void PEERS.forEach(requirePeer));
  before(async () => {
    PEERS.forEach(requirePeer);
    const pki = makePki();
    // The same kind of CA, never given to workerd: a certificate it signed must be refused.
    const unknown = makePki();
    workerd = await startWorkerd(entry, [pki.caPem]);
    tabi = await testServer({ resolveExtension: true });
    authed = await testServer({ users: new Map([["alice", "s3cret"]]) });
    denying = await testServer({ rules: [{ action: "deny" }] });
    echo = await echoServer();
    origin = await startTlsOrigin(pki);
    stranger = await startTlsOrigin(unknown);
    microPort = await closedPort();
    microAuthPort = await closedPort();
    microsocks = daemon("microsocks", ["-i", "127.0.0.1", "-p", String(microPort)]);
    microsocksAuthed = daemon("microsocks", [
      "-i",
      "127.0.0.1",
      "-p",
      String(microAuthPort),
      "-u",
      "mike",
      "-P",
      "r0ck",
    ]);
    dante = await startDante({
      rules: [
        "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: bind connect }",
        "socks pass { from: 0.0.0.0/0 to: 127.0.0.0/8 command: bindreply }",
      ],
    });
    dantePort = dante.port;
    await waitForPort(microPort, "microsocks");
    await waitForPort(microAuthPort, "microsocks -u");
  });
  after(async () => {
    await workerd?.stop();
    await Promise.all([tabi, authed, denying].map((s) => s?.close()));
    await echo?.close();
    await origin?.close();
    await stranger?.close();
    await Promise.all([microsocks, microsocksAuthed, dante].map((d) => d?.stop()));
  });

  const echoTarget = () => `127.0.0.1:${echo.address.port}`;

  it("the root module runs there: the runtime is 'workers'; listen, UDP and lookups answer 'unsupported'", async () => {
    assert.deepEqual(await workerd.call({ op: "info" }), {
      runtime: "workers",
      socksFetch: "function",
      network: "function",
    });
    for (const call of ["listen", "bindUdp", "resolve", "reverse"]) {
      const answer = await workerd.call({ op: "network", call });
      assert.equal(answer.code, "unsupported", JSON.stringify(answer));
      assert.match(String(answer.message), /not available on Workers/);
    }
  });

  describe("against tabi", () => {
    it("a proxy by name: refused as a local lookup, and reached when the name is handed to connect()", async () => {
      const proxy = `socks5h://localhost:${tabi.endpoint.port}`;
      const refused = await workerd.call({ op: "echo", proxy, target: echoTarget(), size: 1 });
      assert.equal(refused.code, "unsupported", JSON.stringify(refused));
      assertEchoed(await workerd.call({ op: "echo", proxy, target: echoTarget(), size: MIB, passNames: true }), MIB);
    });

    it("a raw tunnel echoes 1 MiB byte-exact through socks5h, socks5, socks4a, socks4 and an HTTP CONNECT proxy", async () => {
      for (const scheme of ["socks5h", "socks5", "socks4a", "socks4", "http"]) {
        const target = scheme.endsWith("a") || scheme.endsWith("h") ? `localhost:${echo.address.port}` : echoTarget();
        assertEchoed(await workerd.call({ op: "echo", proxy: `${scheme}://${at(tabi)}`, target, size: MIB }));
      }
    });

    it("chains: socks5h -> socks4a, and an HTTP CONNECT hop -> socks5h", async () => {
      for (
        const proxy of [[`socks5h://${at(tabi)}`, `socks4a://${at(authed)}`], [
          `http://${at(tabi)}`,
          `socks5h://${at(tabi)}`,
        ]]
      ) {
        const chain = proxy[1].startsWith("socks4a") ? [proxy[0], `socks4a://${at(tabi)}`] : proxy;
        assertEchoed(
          await workerd.call({ op: "echo", proxy: chain, target: `localhost:${echo.address.port}`, size: MIB }),
        );
      }
    });

    it("BIND: the client reads the first reply's address, then the second reply and the peer's bytes", async () => {
      await bindThrough(workerd, `socks5://${at(tabi)}`);
      await bindThrough(workerd, `socks4://${at(tabi)}`);
    });

    it("RESOLVE and RESOLVE_PTR on the proxy", async () => {
      assert.deepEqual(await workerd.call({ op: "resolve", proxy: `socks5h://${at(tabi)}`, name: "localhost" }), {
        address: { type: "ipv4", host: "127.0.0.1" },
      });
      assert.deepEqual(
        await workerd.call({ op: "resolve-ptr", proxy: `socks5h://${at(tabi)}`, address: "127.0.0.1" }),
        {
          name: "localhost",
        },
      );
    });

    it("each failure reply as its SocksError code and reply", async () => {
      const refused = `127.0.0.1:${await closedPort()}`;
      const cases: [string | string[], string, Answer][] = [
        [`socks5h://${at(denying)}`, echoTarget(), { code: "not-allowed", reply: 0x02 }],
        [`socks5h://${at(tabi)}`, "no-such-host.invalid:80", { code: "host-unreachable", reply: 0x04 }],
        [`socks5h://${at(tabi)}`, refused, { code: "connection-refused", reply: 0x05 }],
        [`socks4a://${at(tabi)}`, refused, { code: "rejected", reply: 91 }],
        [`socks5h://alice:wrong@${at(authed)}`, echoTarget(), { code: "auth-failed" }],
        // The second hop fails: the error names it.
        [[`socks5h://${at(tabi)}`, `socks5h://${at(tabi)}`], refused, { code: "connection-refused", hop: 2 }],
        // No proxy there at all: workerd's connect() fails, the same way for a refused port and a forbidden address.
        [`socks5h://127.0.0.1:${await closedPort()}`, echoTarget(), { code: "connection-refused", hop: 1 }],
      ];
      for (const [proxy, target, expected] of cases) {
        const answer = await workerd.call({ op: "fail", proxy, target });
        for (const [key, value] of Object.entries(expected)) {
          assert.equal(answer[key], value, `${JSON.stringify(proxy)} -> ${target}: ${JSON.stringify(answer)}`);
        }
      }
    });

    it("a name with socks5:// or socks4:// is refused as a DNS leak before any socket opens", async () => {
      const accepted: Connection[] = [];
      const counting = await network.listen({ hostname: "127.0.0.1", port: 0 }, (c) => accepted.push(c));
      try {
        for (const scheme of ["socks5", "socks4"]) {
          const proxy = `${scheme}://127.0.0.1:${counting.address.port}`;
          const answer = await workerd.call({ op: "fail", proxy, target: "example.com:443" });
          assert.equal(answer.code, "dns-leak", JSON.stringify(answer));
        }
        assert.equal(accepted.length, 0);
      } finally {
        await counting.close();
      }
    });

    it("a timeout and an abort during the handshake, and an abort in the middle of a transfer", async () => {
      const silent = await network.listen({ hostname: "127.0.0.1", port: 0 }, () => {});
      try {
        const proxy = `socks5h://127.0.0.1:${silent.address.port}`;
        const timedOut = await workerd.call({ op: "fail", proxy, target: "a.test:1", timeoutMs: 300 });
        assert.deepEqual([timedOut.code, timedOut.hop], ["timeout", 1], JSON.stringify(timedOut));
        const aborted = await workerd.call({ op: "fail", proxy, target: "a.test:1", abortAfterMs: 200 });
        assert.deepEqual([aborted.code, aborted.hop], ["aborted", 1], JSON.stringify(aborted));
      } finally {
        await silent.close();
      }
      const size = 8 * MIB;
      const answer = await workerd.call({
        op: "abort-transfer",
        proxy: `socks5h://${at(tabi)}`,
        target: echoTarget(),
        size,
        abortAfter: 64 * 1024,
      });
      assert.equal(answer.aborted, true);
      assert.ok((answer.received as number) < size, JSON.stringify(answer));
      assert.match(String(answer.ended), /^error/, JSON.stringify(answer));
    });

    it("TLS to the destination inside the tunnel (startTls): trusted, then refused for an unknown CA and another name", async () => {
      const tls = (port: number, serverName: string) =>
        workerd.call({
          op: "tls",
          proxy: `socks5h://${at(tabi)}`,
          target: `localhost:${port}`,
          serverName,
          path: "/hello",
        });
      // Refusals first: once a session with "localhost" is up, workerd may resume it, and Deno's node:https servers
      // in one process share their ticket keys, so the stranger would take the resumption and show no certificate.
      const unknownCa = await tls(stranger.port, "localhost");
      assert.equal(unknownCa.code, "failed", JSON.stringify(unknownCa));
      // Both throwaway CAs carry the same name: rustls finds the trusted one and the signature does not verify.
      assert.ok(
        await eventually(() => /invalid peer certificate: (BadSignature|UnknownIssuer)/.test(workerd.output())),
      );
      const otherName = await tls(origin.port, "tabi.invalid");
      assert.equal(otherName.code, "failed", JSON.stringify(otherName));
      assert.ok(await eventually(() => /not valid for name "tabi\.invalid"/.test(workerd.output())), workerd.output());
      const ok = await tls(origin.port, "localhost");
      assert.match(String(ok.response), /^HTTP\/1\.1 200 OK\r\n[^]*hello from \/hello/, JSON.stringify(ok));
    });
  });

  describe("against microsocks", () => {
    // microsocks ends both directions at the first FIN: these tunnels read all 1 MiB back before closing.
    it("a raw tunnel echoes 1 MiB byte-exact, with and without username/password", async () => {
      for (const proxy of [`socks5h://127.0.0.1:${microPort}`, `socks5h://mike:r0ck@127.0.0.1:${microAuthPort}`]) {
        const target = `localhost:${echo.address.port}`;
        assertEchoed(await workerd.call({ op: "echo", proxy, target, size: MIB, keepOpen: true }));
      }
    });
    it("a chain socks5h (microsocks) -> socks4a (tabi)", async () => {
      const proxy = [`socks5h://127.0.0.1:${microPort}`, `socks4a://${at(tabi)}`];
      const target = `localhost:${echo.address.port}`;
      assertEchoed(await workerd.call({ op: "echo", proxy, target, size: MIB, keepOpen: true }));
    });
    it("failures: a refused destination, a wrong password", async () => {
      const refused = await workerd.call({
        op: "fail",
        proxy: `socks5h://127.0.0.1:${microPort}`,
        target: `127.0.0.1:${await closedPort()}`,
      });
      assert.deepEqual([refused.code, refused.reply], ["connection-refused", 0x05], JSON.stringify(refused));
      const wrong = await workerd.call({
        op: "fail",
        proxy: `socks5h://mike:wrong@127.0.0.1:${microAuthPort}`,
        target: echoTarget(),
      });
      assert.equal(wrong.code, "auth-failed", JSON.stringify(wrong));
    });
    it("TLS inside its tunnel", async () => {
      const ok = await workerd.call({
        op: "tls",
        proxy: `socks5h://127.0.0.1:${microPort}`,
        target: `localhost:${origin.port}`,
        serverName: "localhost",
        path: "/hello",
      });
      assert.match(String(ok.response), /^HTTP\/1\.1 200 OK/, JSON.stringify(ok));
    });
  });

  describe("against Dante", () => {
    it("a raw tunnel echoes 1 MiB byte-exact through SOCKS5 and SOCKS4", async () => {
      for (const scheme of ["socks5h", "socks4"]) {
        assertEchoed(
          await workerd.call({
            op: "echo",
            proxy: `${scheme}://127.0.0.1:${dantePort}`,
            target: echoTarget(),
            size: MIB,
          }),
        );
      }
    });
    it("a chain socks5h (Dante) -> socks4a (tabi)", async () => {
      const proxy = [`socks5h://127.0.0.1:${dantePort}`, `socks4a://${at(tabi)}`];
      assertEchoed(await workerd.call({ op: "echo", proxy, target: `localhost:${echo.address.port}`, size: MIB }));
    });
    it("BIND: first reply, then the second with the peer", async () => {
      await bindThrough(workerd, `socks5://127.0.0.1:${dantePort}`);
    });
    it("failures: a refused destination through SOCKS5 (0x05) and SOCKS4 (91)", async () => {
      const refused = `127.0.0.1:${await closedPort()}`;
      const five = await workerd.call({ op: "fail", proxy: `socks5h://127.0.0.1:${dantePort}`, target: refused });
      assert.deepEqual([five.code, five.reply], ["connection-refused", 0x05], JSON.stringify(five));
      const four = await workerd.call({ op: "fail", proxy: `socks4://127.0.0.1:${dantePort}`, target: refused });
      assert.deepEqual([four.code, four.reply], ["rejected", 91], JSON.stringify(four));
    });
  });
});

/**
 * BIND through `proxy` from inside the Worker: it streams the first reply's address; this process connects there
 * as the peer, sends three bytes and half-closes; the Worker (past the second reply) sends them back reversed and
 * reports the peer's address from the second reply.
 */
async function bindThrough(workerd: Workerd, proxy: string): Promise<void> {
  const response = await fetch(workerd.url, { method: "POST", body: JSON.stringify({ op: "bind", proxy }) });
  const lines = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const nextLine = async (): Promise<Answer> => {
    while (!text.includes("\n")) {
      const { done, value } = await lines.read();
      if (done) throw new Error(`the Worker's answer ended early: ${text}`);
      text += value;
    }
    const line = text.slice(0, text.indexOf("\n"));
    text = text.slice(text.indexOf("\n") + 1);
    return JSON.parse(line);
  };
  const first = await nextLine();
  const bound = first.bound as { port: number } | undefined;
  assert.ok(bound !== undefined && bound.port > 0, JSON.stringify(first));
  const peer = await network.connect({ hostname: "127.0.0.1", port: bound.port });
  const { port } = peer.localAddress;
  const writer = peer.writable.getWriter();
  await writer.write(new Uint8Array([1, 2, 3]));
  await writer.close();
  const back: number[] = [];
  for await (const chunk of peer.readable) back.push(...chunk);
  peer.close();
  assert.deepEqual(back, [3, 2, 1]);
  const second = await nextLine();
  assert.deepEqual(second, {
    peer: { address: { type: "ipv4", host: "127.0.0.1" }, port },
    got: [1, 2, 3],
  });
  await lines.cancel().catch(() => {});
}
