/**
 * socksFetch and createSocksFetch in real workerd: the Worker (worker_entry.ts, the package root bundled by esbuild
 * with --platform=neutral and run without nodejs_compat) fetches through tabi, microsocks and Dante on 127.0.0.1
 * with tabi's HTTP/1.1 client over the tunnel, https through the tunnel's startTls() checked against the target's
 * name, and a direct fetch (no proxy) with the Worker's own fetch. This file only orchestrates (servers, peers,
 * workerd, HTTP calls to the Worker), so it runs the same under Node (tsx), Deno and Bun.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, beforeEach, describe, it } from "node:test";
import type { Connection } from "../../../mod.ts";
import { closedPort, network, testServer, waitForPort } from "../../helpers/net.ts";
import { requirePeer } from "../../helpers/peers.ts";
import { type Daemon, daemon } from "../../helpers/process.ts";
import { type Dante, startDante } from "../../helpers/dante.ts";
import {
  eventually,
  makePki,
  type Origin,
  sha256,
  startOrigin,
  startTlsOrigin,
  type TestPki,
} from "../../fetch/fetch_fixtures.ts";
import { startWorkerd, type Workerd } from "./workerd.ts";

const MIB = 1 << 20;
const entry = fileURLToPath(new URL("./worker_entry.ts", import.meta.url));
const PEERS = ["microsocks", "danted", "openssl"];

type Server = Awaited<ReturnType<typeof testServer>>;
type Answer = Record<string, unknown>;

/** The test bytes the Worker sends (worker_entry.ts's byteAt). */
function testBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >>> 9)) & 0xff;
  return bytes;
}

/** The SocksError a fetch's rejection carried, as the Worker answered it. */
const causeOf = (answer: Answer): Answer => (answer.cause ?? {}) as Answer;

describe("socksFetch in real workerd, from the package root, without nodejs_compat", () => {
  let workerd: Workerd;
  let tabi: Server;
  let authed: Server;
  let denying: Server;
  let plain: Origin;
  let secure: Origin;
  let stranger: Origin;
  let elsewhere: Origin;
  let pki: TestPki;
  let microsocks: Daemon;
  let dante: Dante;
  let microPort: number;
  let dantePort: number;
  const at = (s: Server) => `127.0.0.1:${s.endpoint.port}`;
  const call = (op: Answer) => workerd.call({ op: "fetch", ...op });

  beforeEach(() => void PEERS.forEach(requirePeer));
  before(async () => {
    PEERS.forEach(requirePeer);
    pki = makePki();
    // Trusted too, under a CA name of its own, but its certificate names another host only.
    const other = makePki(["elsewhere.test"], "tabi other CA");
    // Never given to workerd: a certificate it signed must be refused.
    const unknown = makePki(["localhost"], "tabi unknown CA");
    workerd = await startWorkerd(entry, [pki.caPem, other.caPem]);
    tabi = await testServer({});
    authed = await testServer({ users: new Map([["alice", "s3cret"]]) });
    denying = await testServer({ rules: [{ action: "deny" }] });
    plain = await startOrigin();
    secure = await startTlsOrigin(pki);
    stranger = await startTlsOrigin(unknown);
    elsewhere = await startTlsOrigin(other);
    microPort = await closedPort();
    microsocks = daemon("microsocks", ["-i", "127.0.0.1", "-p", String(microPort)]);
    dante = await startDante({
      rules: [
        "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }",
      ],
    });
    dantePort = dante.port;
    await waitForPort(microPort, "microsocks");
  });
  after(async () => {
    await workerd?.stop();
    await Promise.all([tabi, authed, denying].map((s) => s?.close()));
    await Promise.all([plain, secure, stranger, elsewhere].map((o) => o?.close()));
    await Promise.all([microsocks, dante].map((d) => d?.stop()));
  });

  it("https through the tunnel's startTls(): refused for an unknown CA and for another host's certificate, then trusted", async () => {
    const proxy = `socks5h://${at(tabi)}`;
    // Refusals first: once a session with "localhost" is up, workerd may resume it (see workers_network_test.ts).
    const unknownCa = await call({ url: `https://localhost:${stranger.port}/hello`, proxy });
    assert.equal(unknownCa.error, "TypeError", JSON.stringify(unknownCa));
    assert.equal(causeOf(unknownCa).code, "failed", JSON.stringify(unknownCa));
    assert.ok(await eventually(() => /invalid peer certificate: UnknownIssuer/.test(workerd.output())));
    // Checked against the target's name (localhost), not the proxy's (127.0.0.1) nor any name the certificate has.
    const otherName = await call({ url: `https://localhost:${elsewhere.port}/hello`, proxy });
    assert.equal(causeOf(otherName).code, "failed", JSON.stringify(otherName));
    assert.ok(await eventually(() => /not valid for name "localhost"/.test(workerd.output())), workerd.output());
    // Extra CAs per call cannot work in a Worker (workerd's trustedCertificates are its configuration): said so.
    const withCa = await call({ url: `https://localhost:${secure.port}/hello`, proxy, ca: pki.caPem });
    assert.equal(withCa.error, "TypeError", JSON.stringify(withCa));
    assert.equal(causeOf(withCa).code, "unsupported", JSON.stringify(withCa));
    assert.match(String(causeOf(withCa).message), /configuration/);
    // For http too: a redirect could lead to https, where it would not apply.
    const httpWithCa = await call({ url: `http://localhost:${plain.port}/hello`, proxy, ca: pki.caPem });
    assert.equal(causeOf(httpWithCa).code, "unsupported", JSON.stringify(httpWithCa));
    const ok = await call({ url: `https://localhost:${secure.port}/hello`, proxy });
    assert.deepEqual([ok.status, ok.text], [200, "hello from /hello"], JSON.stringify(ok));
    const chained = await call({
      url: `https://localhost:${secure.port}/hello`,
      proxy: [`socks5h://127.0.0.1:${microPort}`, `socks4a://${at(tabi)}`],
    });
    assert.deepEqual([chained.status, chained.text], [200, "hello from /hello"], JSON.stringify(chained));
  });

  it("GET, and a POST of 1 MiB whose checksum the origin confirms, through tabi, microsocks and Dante", async () => {
    const expected = sha256(testBytes(MIB));
    for (
      const proxy of [`socks5h://${at(tabi)}`, `socks5h://127.0.0.1:${microPort}`, `socks5h://127.0.0.1:${dantePort}`]
    ) {
      const got = await call({ url: `http://localhost:${plain.port}/hello?q=1`, proxy });
      assert.deepEqual([got.status, got.text, got.url], [
        200,
        "hello from /hello?q=1",
        `http://localhost:${plain.port}/hello?q=1`,
      ], proxy);
      const posted = await call({ url: `http://localhost:${plain.port}/sum`, proxy, method: "POST", bodySize: MIB });
      assert.equal(posted.status, 200, JSON.stringify(posted));
      assert.equal(posted.sentSha256, expected);
      assert.deepEqual(JSON.parse(String(posted.text)), { bytes: MIB, sha256: expected }, proxy);
    }
  });

  it("createSocksFetch: one fetch function for several calls; after close() it rejects as 'closed'", async () => {
    const answer = await call({
      url: `http://localhost:${plain.port}/hello`,
      proxy: `socks4a://${at(tabi)}`,
      create: true,
    });
    assert.deepEqual([answer.status, answer.text], [200, "hello from /hello"], JSON.stringify(answer));
    const afterClose = answer.afterClose as Answer;
    assert.equal(afterClose.error, "TypeError", JSON.stringify(afterClose));
    assert.equal(causeOf(afterClose).code, "closed");
  });

  it("redirects: follow, manual, error; 301/302/303 turn POST into GET, 307/308 resend it", async () => {
    const proxy = `socks5h://${at(tabi)}`;
    const base = `http://localhost:${plain.port}`;
    const followed = await call({ url: `${base}/redirect`, proxy });
    assert.deepEqual([followed.status, followed.text, followed.url, followed.redirected], [
      200,
      "hello from /hello",
      `${base}/hello`,
      true,
    ]);
    const manual = await call({ url: `${base}/redirect`, proxy, redirect: "manual" });
    assert.deepEqual([manual.status, manual.location, manual.redirected], [302, "/hello", false]);
    const error = await call({ url: `${base}/redirect`, proxy, redirect: "error" });
    assert.equal(error.error, "TypeError", JSON.stringify(error));
    for (
      const [code, method, bytes] of [[301, "GET", 0], [302, "GET", 0], [303, "GET", 0], [307, "POST", 4096], [
        308,
        "POST",
        4096,
      ]]
    ) {
      const answer = await call({ url: `${base}/redirect-status/${code}`, proxy, method: "POST", bodySize: 4096 });
      assert.equal(answer.status, 200, JSON.stringify(answer));
      assert.equal(answer.url, `${base}/method`);
      assert.deepEqual(
        { method: JSON.parse(String(answer.text)).method, bytes: JSON.parse(String(answer.text)).bytes },
        { method, bytes },
        `${code}: ${answer.text}`,
      );
    }
  });

  it("a chain socks5h -> socks4a (tabi -> tabi, microsocks -> tabi, Dante -> tabi)", async () => {
    for (
      const first of [`socks5h://${at(tabi)}`, `socks5h://127.0.0.1:${microPort}`, `socks5h://127.0.0.1:${dantePort}`]
    ) {
      const answer = await call({
        url: `http://localhost:${plain.port}/hello`,
        proxy: [first, `socks4a://${at(tabi)}`],
      });
      assert.deepEqual([answer.status, answer.text], [200, "hello from /hello"], `${first}: ${JSON.stringify(answer)}`);
    }
  });

  it("each failure reply as fetch's TypeError whose cause is its SocksError", async () => {
    const refused = `127.0.0.1:${await closedPort()}`;
    const cases: [string | string[], string, Answer][] = [
      [`socks5h://${at(denying)}`, `http://localhost:${plain.port}/`, { code: "not-allowed", reply: 0x02 }],
      [`socks5h://${at(tabi)}`, "http://no-such-host.invalid/", { code: "host-unreachable", reply: 0x04 }],
      [`socks5h://${at(tabi)}`, `http://${refused}/`, { code: "connection-refused", reply: 0x05 }],
      [`socks4a://${at(tabi)}`, `http://${refused}/`, { code: "rejected", reply: 91 }],
      [`socks5h://alice:wrong@${at(authed)}`, `http://localhost:${plain.port}/`, { code: "auth-failed" }],
      [[`socks5h://${at(tabi)}`, `socks5h://${at(tabi)}`], `http://${refused}/`, {
        code: "connection-refused",
        hop: 2,
      }],
      [`socks5h://127.0.0.1:${microPort}`, `http://${refused}/`, { code: "connection-refused", reply: 0x05 }],
      [`socks4://127.0.0.1:${dantePort}`, `http://${refused}/`, { code: "rejected", reply: 91 }],
      [`socks5h://127.0.0.1:${await closedPort()}`, `http://localhost:${plain.port}/`, {
        code: "connection-refused",
        hop: 1,
      }],
    ];
    for (const [proxy, url, expected] of cases) {
      const answer = await call({ url, proxy });
      assert.equal(answer.error, "TypeError", `${JSON.stringify(proxy)} ${url}: ${JSON.stringify(answer)}`);
      for (const [key, value] of Object.entries(expected)) {
        assert.equal(causeOf(answer)[key], value, `${JSON.stringify(proxy)} ${url}: ${JSON.stringify(answer)}`);
      }
    }
  });

  it("a name with socks5:// or socks4:// is refused as a DNS leak before any socket opens", async () => {
    const accepted: Connection[] = [];
    const counting = await network.listen({ hostname: "127.0.0.1", port: 0 }, (c) => accepted.push(c));
    try {
      for (const scheme of ["socks5", "socks4"]) {
        const proxy = `${scheme}://127.0.0.1:${counting.address.port}`;
        const answer = await call({ url: "https://example.com/", proxy });
        assert.equal(answer.error, "TypeError", JSON.stringify(answer));
        assert.equal(causeOf(answer).code, "dns-leak", JSON.stringify(answer));
      }
      assert.equal(accepted.length, 0);
    } finally {
      await counting.close();
    }
  });

  it("an abort in the middle of a body errors the body and closes the connection to the origin", async () => {
    const answer = await call({
      url: `http://localhost:${plain.port}/drip`,
      proxy: `socks5h://${at(tabi)}`,
      abortAfterChunks: 1,
    });
    assert.equal(answer.status, 200, JSON.stringify(answer));
    assert.equal(answer.ended, "AbortError", JSON.stringify(answer));
    assert.ok(await eventually(() => plain.openConnections() === 0), `${plain.openConnections()} still open`);
  });

  it("with no proxy, the Worker's own fetch; a ca option is refused there too", async () => {
    const direct = await call({ url: `http://127.0.0.1:${plain.port}/hello` });
    assert.deepEqual([direct.status, direct.text], [200, "hello from /hello"], JSON.stringify(direct));
    const withCa = await call({ url: `http://127.0.0.1:${plain.port}/hello`, ca: pki.caPem });
    assert.equal(withCa.error, "TypeError", JSON.stringify(withCa));
    assert.equal(causeOf(withCa).code, "unsupported", JSON.stringify(withCa));
  });
});
