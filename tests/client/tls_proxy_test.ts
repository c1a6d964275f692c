// The client's TLS proxies: `https://` (HTTP CONNECT inside TLS) and `socks5h+tls://` (SOCKS5 inside TLS), alone and
// as hops of chains (a TLS hop inside a chain is TLS inside the previous hop's tunnel), against tabi's own TLS server
// and against stunnel4 in front of microsocks and Dante; the proxy's certificate checked against its name and the
// CA given in `proxyCa`.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, socksFetch } from "../../mod.ts";
import { httpServer, payload, sameBytes } from "../helpers/targets.ts";
import type { Tunnel } from "../../lib/client/tunnel.ts";
import { closedPort, echoServer, network, testServer, waitForPort } from "../helpers/net.ts";
import { currentUser, type Daemon, daemon } from "../helpers/process.ts";
import { requirePeer } from "../helpers/peers.ts";
import { makeTestPki, type TestPki } from "../helpers/tls_certs.ts";

/**
 * Sends `text` through the tunnel to the echo target and reads it back: to the end after a half-close, or (for
 * proxies that drop a tunnel at the client's FIN, such as microsocks and stunnel in front of it) as many bytes.
 */
async function echoes(tunnel: Tunnel, text: string, halfClose = true): Promise<string> {
  const writer = tunnel.writable.getWriter();
  await writer.write(new TextEncoder().encode(text));
  if (halfClose) await writer.close();
  let got = "";
  for await (const chunk of tunnel.readable) {
    got += new TextDecoder().decode(chunk);
    if (!halfClose && got.length >= text.length) break;
  }
  tunnel.close();
  return got;
}

describe("TLS proxies in the client: https:// and socks5h+tls://, alone and in chains", () => {
  let pki: TestPki;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let tlsServer: Awaited<ReturnType<typeof testServer>>;
  let plainServer: Awaited<ReturnType<typeof testServer>>;
  let ca: string;
  let target: string;
  const daemons: Daemon[] = [];
  let dir: string;
  before(async () => {
    pki = makeTestPki();
    ca = pki.caPem;
    dir = mkdtempSync(join(tmpdir(), "tabi-stunnel-"));
    echo = await echoServer();
    target = `127.0.0.1:${echo.address.port}`;
    tlsServer = await testServer({
      network,
      tls: { cert: readFileSync(pki.ecChain, "utf8"), key: readFileSync(pki.ecKey, "utf8") },
    });
    plainServer = await testServer({ network });
  });
  after(async () => {
    for (const d of daemons) await d.stop();
    await tlsServer?.close();
    await plainServer?.close();
    await echo?.close();
    pki?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const scheme of ["https", "socks5h+tls", "socks+tls", "socks4a+tls"]) {
    it(`${scheme}://localhost: through tabi's TLS port, the record says tls`, async () => {
      const tunnel = await connect(`${scheme}://localhost:${tlsServer.endpoint.port}`, target, { proxyCa: ca });
      // No half-close: under Bun, tabi's TLS server ends the session at the client's close_notify (docs/tls.md).
      assert.equal(await echoes(tunnel, `over ${scheme}`, false), `over ${scheme}`);
      const record = await tlsServer.nextRecord();
      assert.equal(record.tls, "TLSv1.3");
      assert.equal(record.outcome, "ok");
    });
  }

  it("the certificate is checked: against the proxy's name, and up to a trusted CA", async () => {
    const port = tlsServer.endpoint.port;
    // A name the certificate does not carry, resolved to the right address.
    const wrongName = connect(`https://wrong.example:${port}`, target, {
      proxyCa: ca,
      resolve: () => Promise.resolve(["127.0.0.1"]),
    });
    await assert.rejects(wrongName, /TLS to https:\/\/wrong\.example.*(altnames|name|match)/i);
    await assert.rejects(connect(`socks5h+tls://localhost:${port}`, target), /TLS to socks5h\+tls:\/\/localhost/);
    // By IP address: checked against the certificate's IP addresses (it has 127.0.0.1).
    const byAddress = await connect(`https://127.0.0.1:${port}`, target, { proxyCa: ca });
    assert.equal(await echoes(byAddress, "by address", false), "by address");
    // A plaintext proxy is not a TLS one: the handshake fails rather than anything going out in the clear.
    await assert.rejects(connect(`https://localhost:${plainServer.endpoint.port}`, target, { proxyCa: ca }));
    while (tlsServer.records.length > 0) tlsServer.records.pop();
  });

  it("chains: a plain hop then a TLS hop, and TLS inside TLS", async () => {
    const tls = `localhost:${tlsServer.endpoint.port}`;
    const chains = [
      [`socks5h://127.0.0.1:${plainServer.endpoint.port}`, `https://${tls}`],
      [`https://${tls}`, `socks5h+tls://${tls}`],
      [`socks5h+tls://${tls}`, `http://127.0.0.1:${plainServer.endpoint.port}`, `https://${tls}`],
    ];
    for (const chain of chains) {
      const tunnel = await connect(chain, target, { proxyCa: ca });
      assert.equal(await echoes(tunnel, chain.join(" > "), false), chain.join(" > "));
    }
  });

  it("socksFetch through https:// and socks5h+tls:// (and a chain with a TLS hop), proxyCa for the proxy", async () => {
    const body = payload(30_000, 5);
    const origin = await httpServer("127.0.0.1", body);
    try {
      const tls = `localhost:${tlsServer.endpoint.port}`;
      for (
        const proxy of [`https://${tls}`, `socks5h+tls://${tls}`, [
          `socks5h://127.0.0.1:${plainServer.endpoint.port}`,
          `https://${tls}`,
        ]]
      ) {
        const response = await socksFetch(`http://localhost:${origin.port}/`, { proxy, proxyCa: ca });
        assert.equal(response.status, 200);
        assert.ok(sameBytes(new Uint8Array(await response.arrayBuffer()), body));
      }
      await assert.rejects(socksFetch(`http://localhost:${origin.port}/`, { proxy: `https://${tls}` }));
    } finally {
      origin.close();
    }
  });

  it("stunnel4 in front of microsocks and of Dante: socks5h+tls:// reaches them", async () => {
    const stunnel = requirePeer("stunnel4");
    const microsocksPort = await closedPort();
    daemons.push(daemon(requirePeer("microsocks"), ["-i", "127.0.0.1", "-p", String(microsocksPort)]));
    const dantePort = await closedPort();
    writeFileSync(
      join(dir, "danted.conf"),
      [
        "logoutput: stderr",
        `internal: 127.0.0.1 port = ${dantePort}`,
        "external: 127.0.0.1",
        "clientmethod: none",
        "socksmethod: none",
        `user.privileged: ${currentUser()}`,
        "user.unprivileged: nobody",
        "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }",
        "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }",
        "",
      ].join("\n"),
    );
    daemons.push(daemon(requirePeer("danted"), ["-f", join(dir, "danted.conf")]));
    await waitForPort(microsocksPort, "microsocks");
    await waitForPort(dantePort, "danted");
    for (const [name, backend] of [["microsocks", microsocksPort], ["dante", dantePort]] as const) {
      const port = await closedPort();
      const config = join(dir, `${name}.stunnel.conf`);
      writeFileSync(
        config,
        [
          "foreground = yes",
          `pid =`,
          `cert = ${pki.ecChain}`,
          `key = ${pki.ecKey}`,
          "[socks]",
          `accept = 127.0.0.1:${port}`,
          `connect = 127.0.0.1:${backend}`,
          "",
        ].join("\n"),
      );
      const front = daemon(stunnel, [config]);
      daemons.push(front);
      await waitForPort(port, `stunnel4 in front of ${name}`).catch((error) => {
        throw new Error(`${error.message}: ${front.output()}`);
      });
      const tunnel = await connect(`socks5h+tls://localhost:${port}`, target, { proxyCa: ca });
      assert.equal(await echoes(tunnel, `via ${name}`, false), `via ${name}`);
      // And as the second hop of a chain, TLS inside tabi's tunnel.
      const chained = await connect(
        [`https://localhost:${tlsServer.endpoint.port}`, `socks5h+tls://localhost:${port}`],
        target,
        { proxyCa: ca },
      );
      assert.equal(await echoes(chained, `chained to ${name}`, false), `chained to ${name}`);
    }
  });
});
