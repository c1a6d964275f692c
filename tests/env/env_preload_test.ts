/**
 * The environment preload (env.ts) under the running runtime: an unmodified program (unmodified_client.mjs: global
 * fetch, http.get, https.request, a global WebSocket where the runtime has one) run with the preload and
 * ALL_PROXY=socks5h://... reaches local sites through `tabi serve`, whose log names each destination; with NO_PROXY
 * matching it goes direct; without the variables nothing changes; and with ALL_PROXY at a closed port every request
 * fails (so the successes above did go through the proxy).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runtimeName } from "../../mod.ts";
import { closedPort } from "../helpers/net.ts";
import { run } from "../helpers/process.ts";
import { startTabiServe, type TabiServe } from "../helpers/tabi_serve.ts";
import { makePki, type Origin, startOrigin, startTlsOrigin } from "../fetch/fetch_fixtures.ts";
import { type EchoServer, startEchoServer } from "../fetch/websocket/websocket_fixtures.ts";
import { preloadCommand } from "./preload_command.ts";

/** Every proxy variable curl reads, emptied (an empty value is unset to curl and to the preload). */
const NO_PROXIES: Record<string, string> = Object.fromEntries(
  ["ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"].map((
    name,
  ) => [name, ""]),
);

describe(`the environment preload under ${runtimeName()}`, () => {
  let origin: Origin;
  let tlsOrigin: Origin;
  let echo: EchoServer;
  let server: TabiServe;
  let dir: string;
  let caFile: string;
  before(async () => {
    const pki = makePki();
    dir = mkdtempSync(join(tmpdir(), "tabi-env-"));
    caFile = join(dir, "ca.pem");
    writeFileSync(caFile, pki.caPem);
    origin = await startOrigin();
    tlsOrigin = await startTlsOrigin(pki);
    echo = await startEchoServer();
    server = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0"]);
  });
  after(async () => {
    if (server !== undefined) {
      server.kill("SIGTERM");
      await server.exited;
    }
    await origin?.close();
    await tlsOrigin?.close();
    await echo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function client(env: Record<string, string>): Promise<Record<string, string>> {
    const [command, args] = preloadCommand(join("tests", "env", "unmodified_client.mjs"));
    const result = await run(command, [
      ...args,
      `http://localhost:${origin.port}`,
      `https://localhost:${tlsOrigin.port}`,
      `ws://localhost:${echo.port}/echo`,
      caFile,
    ], { env: { ...NO_PROXIES, DENO_NO_UPDATE_CHECK: "1", ...env }, timeoutMs: 30_000 });
    const out = new TextDecoder().decode(result.stdout);
    assert.equal(result.code, 0, `the client exited ${result.code}: ${out}\n${result.stderr}`);
    return JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
  }

  /** What every request of the client gets when it reaches its site. */
  function assertReached(results: Record<string, string>): void {
    assert.equal(results.fetch, "200 hello from /fetch");
    assert.equal(results["http.get"], "200 hello from /http-get");
    assert.equal(results["https.request"], "200 hello from /https-request");
    if (runtimeName() !== "node") assert.equal(results.WebSocket, "through the env");
  }

  const logged = () => server.stderr().split("\n").filter((line) => line.includes("destination=")).length;

  it("ALL_PROXY=socks5h://: fetch, http.get, https.request and WebSocket go through tabi, names in its log", async () => {
    const before = logged();
    assertReached(await client({ ALL_PROXY: `socks5h://${server.proxy}` }));
    const log = server.stderr();
    // tabi logs a connection as it ends: the client has exited, so each has ended or is about to.
    for (let i = 0; i < 100 && logged() - before < (runtimeName() === "node" ? 3 : 4); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(server.stderr().includes(`destination=localhost:${origin.port}`), log);
    assert.ok(server.stderr().includes(`destination=localhost:${tlsOrigin.port}`), log);
    if (runtimeName() !== "node") assert.ok(server.stderr().includes(`destination=localhost:${echo.port}`), log);
  });

  it("https_proxy as an HTTP proxy (CONNECT) and http_proxy (lowercase, as curl reads it) as socks4a", async () => {
    const before = logged();
    assertReached(await client({ https_proxy: `http://${server.proxy}`, http_proxy: `socks4a://${server.proxy}` }));
    const expected = runtimeName() === "node" ? 3 : 4;
    for (let i = 0; i < 100 && logged() - before < expected; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(logged() - before, expected, server.stderr());
  });

  it("ALL_PROXY=socks5:// resolves names here first, as curl does: tabi is given addresses, never the name", async () => {
    const before = server.stderr().length;
    assertReached(await client({ ALL_PROXY: `socks5://${server.proxy}` }));
    const expected = runtimeName() === "node" ? 3 : 4;
    const lines = () => server.stderr().slice(before).split("\n").filter((line) => line.includes("destination="));
    for (let i = 0; i < 100 && lines().length < expected; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(lines().length, expected, server.stderr().slice(before));
    for (const line of lines()) {
      assert.match(line, /type=ipv[46] /, line);
      assert.doesNotMatch(line, /destination=localhost/, line);
    }
  });

  it("NO_PROXY matching the host: everything goes direct, and tabi sees nothing", async () => {
    const before = logged();
    assertReached(await client({ ALL_PROXY: `socks5h://${server.proxy}`, NO_PROXY: "localhost" }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(logged(), before);
  });

  it("without the variables nothing changes: direct, and tabi sees nothing", async () => {
    const before = logged();
    assertReached(await client({}));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(logged(), before);
  });

  it("axios (npm, node:http and node:https underneath), unmodified: through tabi with ALL_PROXY, direct with NO_PROXY", async () => {
    const axios = async (env: Record<string, string>) => {
      const [command, args] = preloadCommand(join("tests", "env", "axios_client.mjs"));
      const result = await run(command, [
        ...args,
        `http://localhost:${origin.port}`,
        `https://localhost:${tlsOrigin.port}`,
      ], {
        env: { ...NO_PROXIES, DENO_NO_UPDATE_CHECK: "1", NODE_EXTRA_CA_CERTS: caFile, DENO_CERT: caFile, ...env },
        timeoutMs: 30_000,
      });
      const out = new TextDecoder().decode(result.stdout);
      assert.equal(result.code, 0, `axios_client exited ${result.code}: ${out}\n${result.stderr}`);
      return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Record<string, string>;
    };
    const expected = { "axios http": "200 hello from /axios", "axios https": "200 hello from /axios-tls" };
    const before = logged();
    assert.deepEqual(await axios({ ALL_PROXY: `socks5h://${server.proxy}` }), expected);
    for (let i = 0; i < 100 && logged() - before < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(logged() - before, 2, server.stderr());
    assert.deepEqual(await axios({ ALL_PROXY: `socks5h://${server.proxy}`, no_proxy: "localhost" }), expected);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(logged() - before, 2);
    const port = await closedPort();
    const failed = await axios({ ALL_PROXY: `socks5h://127.0.0.1:${port}` });
    assert.match(failed["axios http"], /^error: /);
    assert.match(failed["axios https"], /^error: /);
  });

  it("ALL_PROXY at a closed port: every request fails, so the successes above went through the proxy", async () => {
    const port = await closedPort();
    const results = await client({ ALL_PROXY: `socks5h://127.0.0.1:${port}` });
    for (const [label, value] of Object.entries(results)) assert.match(value, /^error: /, label);
    assert.equal(Object.keys(results).length, runtimeName() === "node" ? 3 : 4);
  });
});
