// `tabi serve --tls-cert --tls-key` as a process under the running runtime: TLS recognised by its first byte on the
// port that also answers plaintext, and inside it an HTTPS proxy (curl -x https://) and SOCKS5 over TLS (Python's
// ssl module); the log's tls field; the bad inputs (garbage, truncated and refused ClientHellos, renegotiation,
// nonsense inside TLS, a handshake that stalls); --tls-only against a plaintext client; the files checked at start
// and read again on SIGHUP.
import assert from "node:assert/strict";
import { copyFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { requirePeer } from "../helpers/peers.ts";
import { cliCommand, run } from "../helpers/process.ts";
import { startTabiServe, type TabiServe } from "../helpers/tabi_serve.ts";
import { httpServer, payload, sameBytes } from "../helpers/targets.ts";
import { makeTestPki, type TestPki } from "../helpers/tls_certs.ts";

const cleanEnv = { no_proxy: "", NO_PROXY: "", http_proxy: "", https_proxy: "", all_proxy: "", ALL_PROXY: "" };
const body = payload(50_000, 7);
const CLIENT = new URL("./tls_client.py", import.meta.url).pathname;

/** Sends `bytes` on a fresh connection (then FIN unless `stall`), and resolves with everything read until the end. */
function rawExchange(port: number, bytes: Uint8Array, stall = false): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    const got: Uint8Array[] = [];
    socket.on("data", (c: Uint8Array) => got.push(c));
    socket.on("error", () => {}); // a reset is an end too
    socket.on("end", () => socket.destroy());
    socket.on("close", () => resolve(new Uint8Array(Buffer.concat(got))));
    socket.setTimeout(20_000, () => {
      socket.destroy();
      reject(new Error("the server never closed"));
    });
    socket.write(bytes, () => (stall ? undefined : socket.end()));
  });
}

/** The records of a JSON log. */
function records(tabi: TabiServe): Record<string, unknown>[] {
  return tabi.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

async function waitFor(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(check(), what);
}

function tlsClient(port: number, pki: TestPki, mode: string, ...args: string[]) {
  return run(requirePeer("python3"), [CLIENT, "127.0.0.1", String(port), pki.caCert, mode, ...args]);
}

function tlsClientBehindBalancer(port: number, pki: TestPki, header: string, ...args: string[]) {
  return run(requirePeer("python3"), [CLIENT, "127.0.0.1", String(port), pki.caCert, "socks5", ...args], {
    env: { PROXY_HEADER: header },
  });
}

describe("tabi serve --tls-cert: an HTTPS proxy and SOCKS over TLS on the plain port", () => {
  let pki: TestPki;
  let origin: { port: number; close(): void };
  let secureOrigin: https.Server;
  let tabi: TabiServe;
  let port: number;
  before(async () => {
    requirePeer("curl");
    pki = makeTestPki();
    origin = await httpServer("127.0.0.1", body);
    const { readFileSync } = await import("node:fs");
    secureOrigin = https.createServer(
      { cert: readFileSync(pki.rsaCert), key: readFileSync(pki.rsaKey) },
      (_, response) => response.end("secure hello"),
    );
    await new Promise<void>((r) => secureOrigin.listen(0, "127.0.0.1", r));
    tabi = await startTabiServe(runtimeName(), [
      "--listen",
      "127.0.0.1:0",
      "--tls-cert",
      pki.ecChain,
      "--tls-key",
      pki.ecKey,
      "--user",
      "alice:s3cret",
      "--handshake-timeout",
      "3",
      "--log",
      "json",
    ]);
    port = Number(tabi.proxy.split(":").at(-1));
  });
  after(async () => {
    tabi?.kill("SIGTERM");
    await tabi?.exited;
    origin?.close();
    secureOrigin?.closeAllConnections();
    secureOrigin?.close();
    pki?.remove();
  });

  it("says TLS in its listening line", () => assert.match(tabi.stderr(), /listening on .*; TLS too\)/));

  it("curl -x https:// -U user:pass: an http:// destination, forwarded inside TLS; the log says tls", async () => {
    const proxy = `https://localhost:${port}`;
    const args = ["-sS", "--fail", "-x", proxy, "--proxy-cacert", pki.caCert, "-U", "alice:s3cret"];
    const result = await run("curl", [...args, `http://127.0.0.1:${origin.port}/forwarded`], { env: cleanEnv });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(sameBytes(result.stdout, body));
    await waitFor("a record with tls", () => records(tabi).some((r) => r.method === "GET" && r.tls === "TLSv1.3"));
    const record = records(tabi).find((r) => r.method === "GET")!;
    assert.equal(record.user, "alice");
  });

  it("curl -x https://: an https:// destination through CONNECT inside TLS (TLS in TLS)", async () => {
    const port2 = (secureOrigin.address() as net.AddressInfo).port;
    const result = await run("curl", [
      "-sS",
      "--fail",
      "-x",
      `https://alice:s3cret@localhost:${port}`,
      "--proxy-cacert",
      pki.caCert,
      "--cacert",
      pki.caCert,
      `https://localhost:${port2}/`,
    ], { env: cleanEnv });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(new TextDecoder().decode(result.stdout), "secure hello");
    await waitFor("a CONNECT record with tls", () => records(tabi).some((r) => r.method === "CONNECT" && r.tls));
  });

  it("curl -x https:// with a wrong password: 407, inside TLS", async () => {
    const result = await run("curl", [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-x",
      `https://localhost:${port}`,
      "--proxy-cacert",
      pki.caCert,
      "-U",
      "alice:wrong",
      `http://127.0.0.1:${origin.port}/`,
    ], { env: cleanEnv });
    assert.equal(new TextDecoder().decode(result.stdout), "407", result.stderr);
  });

  it("curl -x https:// without the CA: the certificate is refused (the chain is checked up to the root)", async () => {
    const result = await run("curl", ["-sS", "-x", `https://localhost:${port}`, `http://127.0.0.1:${origin.port}/`], {
      env: cleanEnv,
    });
    assert.equal(result.code, 60, result.stderr);
  });

  it("Python's ssl module: SOCKS5 with RFC 1929 inside TLS 1.2 and 1.3, ALPN http/1.1, the chain's issuer", async () => {
    const info = await tlsClient(port, pki, "issuer");
    assert.equal(new TextDecoder().decode(info.stdout).trim(), "TLSv1.3 tabi test intermediate http/1.1", info.stderr);
    for (const version of ["1.2", "1.3"]) {
      const result = await tlsClient(port, pki, "socks5", version, "alice", "s3cret", "localhost", String(origin.port));
      assert.equal(result.code, 0, result.stderr);
      const text = new TextDecoder().decode(result.stdout);
      assert.ok(text.startsWith(`TLSv${version}\nHTTP/1.1 200`), text.slice(0, 40));
    }
    await waitFor(
      "a SOCKS5 record over TLS 1.2",
      () => records(tabi).some((r) => r.version === "5" && r.tls === "TLSv1.2"),
    );
  });

  it("plaintext SOCKS5 and HTTP still work on the same port, and their records have no tls field", async () => {
    const result = await run("curl", [
      "-sS",
      "--fail",
      "--socks5-hostname",
      `alice:s3cret@127.0.0.1:${port}`,
      `http://localhost:${origin.port}/plain`,
    ], { env: cleanEnv });
    assert.equal(result.code, 0, result.stderr);
    await waitFor("a plain record", () => records(tabi).some((r) => r.version === "5" && r.tls === undefined));
  });

  it("tabi connect --proxy https:// --proxy-cacert, and socks5h+tls://: through the TLS port", async () => {
    const [command, prefix] = cliCommand();
    for (const scheme of ["https", "socks5h+tls"]) {
      // --no-shutdown: the origin answers HTTP/1.0 and closes (Bun's TLS server ends a session at the client's
      // close_notify: docs/tls.md).
      const result = await run(command, [
        ...prefix,
        "connect",
        "--proxy",
        `${scheme}://alice:s3cret@localhost:${port}`,
        "--proxy-cacert",
        pki.caCert,
        "--no-shutdown",
        "127.0.0.1",
        String(origin.port),
      ], { input: new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n") });
      assert.equal(result.code, 0, result.stderr);
      assert.match(new TextDecoder().decode(result.stdout.slice(0, 20)), /^HTTP\/1\.[01] 200/);
    }
    // Without the CA the proxy's certificate is refused, naming the proxy.
    const refused = await run(command, [
      ...prefix,
      "connect",
      "--proxy",
      `https://localhost:${port}`,
      "127.0.0.1",
      String(origin.port),
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /TLS to https:\/\/localhost/);
  });

  it("tabi serve --upstream socks5h+tls:// --proxy-cacert: a plain front, the TLS port behind it", async () => {
    const front = await startTabiServe(runtimeName(), [
      "--listen",
      "127.0.0.1:0",
      "--upstream",
      `socks5h+tls://alice:s3cret@localhost:${port}`,
      "--proxy-cacert",
      pki.caCert,
    ]);
    try {
      assert.match(front.stderr(), /upstream socks5h\+tls:\/\/alice@localhost:\d+/);
      const result = await run("curl", [
        "-sS",
        "--fail",
        "-x",
        `http://${front.proxy}`,
        `http://localhost:${origin.port}/`,
      ], {
        env: cleanEnv,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(sameBytes(result.stdout, body));
      await waitFor(
        "the TLS port served the front",
        () => records(tabi).some((r) => r.version === "5" && r.tls && r.destination === `localhost:${origin.port}`),
      );
    } finally {
      front.kill("SIGTERM");
      await front.exited;
    }
  });

  it("undici's ProxyAgent (https:// proxy) and Socks5ProxyAgent with proxyTls, under Node", async () => {
    const script = new URL("./tls_proxy_clients.mjs", import.meta.url).pathname;
    for (const mode of ["undici-https", "undici-socks5"]) {
      const result = await run("node", [script, mode, String(port), pki.caCert, `http://127.0.0.1:${origin.port}/`]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(new TextDecoder().decode(result.stdout).trim(), `200 ${body.length}`);
    }
    await waitFor(
      "an undici SOCKS5 record over TLS",
      () => records(tabi).some((r) => r.version === "5" && r.tls === "TLSv1.3" && r.user === "alice"),
    );
  });

  it("Deno's fetch with Deno.createHttpClient({ proxy: https:// }): an https:// destination (CONNECT)", async () => {
    // Only CONNECT: Deno 2.9.5 sends no Proxy-Authorization with an http:// destination through an https:// proxy
    // (tabi answers 407), though it does through an http:// proxy (docs/tls.md).
    const script = new URL("./tls_proxy_clients.mjs", import.meta.url).pathname;
    const deno = new URL("../../node_modules/.bin/deno", import.meta.url).pathname;
    const securePort = (secureOrigin.address() as net.AddressInfo).port;
    const url = `https://localhost:${securePort}/`;
    const result = await run(deno, ["run", "-A", script, "deno-https", String(port), pki.caCert, url], {
      env: { DENO_NO_UPDATE_CHECK: "1" },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(new TextDecoder().decode(result.stdout).trim(), "200 12");
  });

  it("bad input gets an alert or a close and disturbs no one: garbage, truncated, TLS 1.1, nonsense inside", async () => {
    // A handshake record whose ClientHello is garbage, one cut short (then FIN), a TLS 1.1-only ClientHello.
    const garbage = new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0xff, 0xff, 0xff, 9, 9, 9, 9]);
    const answer = await rawExchange(port, garbage);
    // Either a fatal alert record (content type 21) or nothing; never anything else.
    assert.ok(answer.length === 0 || answer[0] === 0x15, `answer ${[...answer.slice(0, 8)]}`);
    const failedBefore = records(tabi).filter((r) => /^TLS handshake/.test(String(r.error))).length;
    const truncated = await rawExchange(port, new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]));
    assert.ok(truncated.length === 0 || truncated[0] === 0x15);
    // The connection ended on the server too (a FIN inside the handshake once left it open under Deno).
    await waitFor(
      "the truncated handshake ended",
      () => records(tabi).filter((r) => /^TLS handshake/.test(String(r.error))).length > failedBefore,
    );
    const old = await run(requirePeer("openssl"), [
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-tls1_1",
      "-cipher",
      "DEFAULT@SECLEVEL=0",
    ], { input: new Uint8Array() });
    assert.notEqual(old.code, 0, "a TLS 1.1 handshake succeeded");
    const nonsense = await tlsClient(port, pki, "nonsense");
    assert.equal(nonsense.code, 0, nonsense.stderr);
    // Inside TLS the first byte 0x07 is no SOCKS version: the HTTP side answers 400 (or the connection just ends).
    const text = new TextDecoder().decode(nonsense.stdout);
    assert.ok(text === "" || text.startsWith("HTTP/1.1 400"), text);
    // And the proxy still serves.
    const ok = await tlsClient(port, pki, "socks5", "1.3", "alice", "s3cret", "127.0.0.1", String(origin.port));
    assert.equal(ok.code, 0, ok.stderr);
  });

  it("renegotiation is refused", async () => {
    // s_client's "R" asks for a renegotiation (TLS 1.2); the server refuses it, and the session does not go on.
    const result = await run(requirePeer("openssl"), [
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-tls1_2",
      "-CAfile",
      pki.caCert,
      "-servername",
      "localhost",
    ], { input: new TextEncoder().encode("R\n"), timeoutMs: 10_000 });
    assert.match(result.stdout.length ? new TextDecoder().decode(result.stdout) : "", /Verify return code: 0/);
    assert.match(result.stderr + new TextDecoder().decode(result.stdout), /RENEGOTIATING/);
    assert.doesNotMatch(result.stderr, /^DONE$/m);
    assert.match(result.stderr, /alert|error|errno/i, result.stderr);
  });

  it("a client that stalls inside the handshake is closed at the handshake timeout", async () => {
    const before = records(tabi).filter((r) => r.outcome === "handshake-timeout").length;
    // A record header announcing 512 bytes, and 3 of them: the handshake can never finish.
    const answer = await rawExchange(port, new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]), true);
    assert.ok(answer.length === 0 || answer[0] === 0x15);
    await waitFor(
      "a handshake-timeout record",
      () => records(tabi).filter((r) => r.outcome === "handshake-timeout").length > before,
    );
  });
});

describe("tabi serve --tls-only, the files checked at start, SIGHUP", () => {
  let pki: TestPki;
  let tabi: TabiServe;
  let port: number;
  let cert: string;
  let key: string;
  before(async () => {
    pki = makeTestPki();
    cert = join(pki.dir, "served.pem");
    key = join(pki.dir, "served.key");
    copyFileSync(pki.rsaCert, cert);
    copyFileSync(pki.rsaKey, key);
    tabi = await startTabiServe(runtimeName(), [
      "--listen",
      "127.0.0.1:0",
      "--tls-cert",
      cert,
      "--tls-key",
      key,
      "--tls-only",
      "--log",
      "json",
    ]);
    port = Number(tabi.proxy.split(":").at(-1));
  });
  after(async () => {
    tabi?.kill("SIGTERM");
    await tabi?.exited;
    pki?.remove();
  });

  it("a plaintext client gets a close and no byte: SOCKS5 and HTTP", async () => {
    assert.match(tabi.stderr(), /; TLS only\)/);
    assert.equal((await rawExchange(port, new Uint8Array([5, 1, 0]))).length, 0);
    assert.equal((await rawExchange(port, new TextEncoder().encode("GET http://x/ HTTP/1.1\r\n\r\n"))).length, 0);
    await waitFor("refusals logged", () => records(tabi).filter((r) => /TLS only/.test(String(r.error))).length === 2);
  });

  it("--proxy-protocol: the PROXY header comes in the clear before the ClientHello, and names the client", async () => {
    const behind = await startTabiServe(runtimeName(), [
      "--listen",
      "127.0.0.1:0",
      "--tls-cert",
      pki.ecChain,
      "--tls-key",
      pki.ecKey,
      "--tls-only",
      "--proxy-protocol",
      "127.0.0.0/8",
      "--log",
      "json",
    ]);
    const origin = await httpServer("127.0.0.1", payload(1000, 2));
    try {
      const behindPort = Number(behind.proxy.split(":").at(-1));
      const header = `PROXY TCP4 198.51.100.7 127.0.0.1 40404 ${behindPort}`;
      const result = await tlsClientBehindBalancer(
        behindPort,
        pki,
        header,
        "1.3",
        "-",
        "-",
        "127.0.0.1",
        String(origin.port),
      );
      assert.equal(result.code, 0, result.stderr);
      await waitFor(
        "a record for the balancer's client",
        () =>
          records(behind).some((r) => r.client === "198.51.100.7:40404" && r.tls === "TLSv1.3" && r.outcome === "ok"),
      );
    } finally {
      origin.close();
      behind.kill("SIGTERM");
      await behind.exited;
    }
  });

  it("an RSA certificate straight from the root; SIGHUP takes a new chain; a broken file changes nothing", async () => {
    const issuer = async () => new TextDecoder().decode((await tlsClient(port, pki, "issuer")).stdout).trim();
    assert.equal(await issuer(), "TLSv1.3 tabi test root http/1.1");
    copyFileSync(pki.ecChain, cert);
    copyFileSync(pki.ecKey, key);
    tabi.kill("SIGHUP");
    await waitFor("reloaded", () => /SIGHUP: reloaded/.test(tabi.stderr()));
    assert.equal(await issuer(), "TLSv1.3 tabi test intermediate http/1.1");
    // A key that is not the certificate's: the reload fails, is logged, and the running certificate stays.
    copyFileSync(pki.rsaKey, key);
    tabi.kill("SIGHUP");
    await waitFor("reload failed", () => /SIGHUP: reload failed.*--tls-cert/.test(tabi.stderr()));
    assert.equal(await issuer(), "TLSv1.3 tabi test intermediate http/1.1");
    writeFileSync(cert, "garbage");
    tabi.kill("SIGHUP");
    await waitFor("reload failed twice", () => tabi.stderr().split("reload failed").length === 3);
    assert.equal(await issuer(), "TLSv1.3 tabi test intermediate http/1.1");
  });

  it("a missing or mismatched file stops serve at start, naming the flag", async () => {
    const attempts: [string[], RegExp][] = [
      [["--tls-cert", join(pki.dir, "absent.pem"), "--tls-key", pki.ecKey], /--tls-cert \S*absent\.pem: cannot read/],
      [["--tls-cert", pki.ecChain, "--tls-key", join(pki.dir, "absent.key")], /--tls-key \S*absent\.key: cannot read/],
      [
        ["--tls-cert", pki.ecChain, "--tls-key", pki.rsaKey],
        /--tls-cert \S+ and --tls-key \S+ do not make a TLS server/,
      ],
      [["--tls-cert", pki.ecChain], /--tls-cert needs --tls-key/],
      [["--tls-only"], /--tls-only|tlsOnly/],
    ];
    for (const [args, message] of attempts) {
      await assert.rejects(startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", ...args]), message);
    }
  });
});
