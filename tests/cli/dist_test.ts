// The `tabi` that npm installs: cli/bin.ts bundled by scripts/build.mjs into one plain JavaScript file that `node`
// runs itself (no tsx, no wrapper process), so that a signal sent to `tabi` reaches the server. Built here into a
// temporary folder, from the current source, by the same script `npm ci` (prepare) and `npm run build` run.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { spawn } from "node:child_process";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { VERSION } from "../../lib/version.ts";
import { echoServer, sleep, socks5Connect } from "../helpers/net.ts";
import { run } from "../helpers/process.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";

/** The server's answer to a SOCKS5 greeting offering "no authentication" (05 01 00), read until it closes. */
function greet(port: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const bytes: number[] = [];
    const socket = connect(port, "127.0.0.1", () => socket.end(new Uint8Array([5, 1, 0])));
    socket.on("data", (chunk: Uint8Array) => bytes.push(...chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(bytes));
  });
}

/** Whether a listener can take `port` on 127.0.0.1 now, i.e. nobody holds it any more. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Waits (bounded) until `read()` matches `pattern`. */
async function waitFor(read: () => string, pattern: RegExp, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (pattern.test(read())) return;
    await sleep(50);
  }
  throw new Error(`${what}: never saw ${pattern} in: ${read()}`);
}

describe("the bundled CLI for Node (dist/tabi.mjs)", () => {
  let dir: string;
  let bundle: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tabi-dist-"));
    bundle = join(dir, "tabi.mjs");
    const built = await run("node", [join("scripts", "build.mjs"), bundle], { timeoutMs: 60_000 });
    assert.equal(built.code, 0, built.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("is package.json's `tabi` bin, built when npm ci runs the prepare script", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8"));
    assert.equal(pkg.bin?.tabi, "dist/tabi.mjs");
    assert.match(pkg.scripts?.prepare ?? "", /scripts\/build\.mjs/);
    assert.match(pkg.scripts?.build ?? "", /scripts\/build\.mjs/);
  });

  it("is plain JavaScript for node: a node shebang (young generation capped), and it imports only node: built-ins", () => {
    const text = readFileSync(bundle, "utf8");
    assert.ok(text.startsWith("#!/usr/bin/env -S node --max-semi-space-size=1\n"), text.slice(0, 60));
    const specifiers = [...text.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    assert.ok(specifiers.length > 0);
    assert.deepEqual(specifiers.filter((s) => !s.startsWith("node:")), []);
  });

  it("prints the version and every subcommand's help under node", async () => {
    const version = await run("node", [bundle, "--version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(new TextDecoder().decode(version.stdout), `tabi ${VERSION}\n`);
    for (const command of ["serve", "connect", "resolve"]) {
      const help = await run("node", [bundle, command, "--help"]);
      assert.equal(help.code, 0, `${command}: ${help.stderr}`);
      assert.match(new TextDecoder().decode(help.stdout), new RegExp(`tabi ${command}`));
    }
  });

  it("serves as the node process itself and stops on SIGTERM, freeing its port", async () => {
    const server = await startTabiServe("node", ["--listen", "127.0.0.1:0"], ["node", [bundle]]);
    const port = Number(server.proxy.slice(server.proxy.lastIndexOf(":") + 1));
    // No wrapper: the process we signal is node running the bundle, and it has no child holding the port.
    const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, "utf8").split("\0");
    assert.ok(cmdline.includes(bundle), cmdline.join(" "));
    assert.equal(readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, "utf8").trim(), "");
    assert.equal(await canListen(port), false);
    // It serves (and, having served, is past its start-up, signal handlers included).
    assert.deepEqual((await greet(port)).slice(0, 2), [5, 0]);
    // Signalled by pid, not child.kill(): Deno's child_process reports a child it killed itself as code null.
    process.kill(server.pid, "SIGTERM");
    assert.equal(await server.exited, 0, server.stderr());
    assert.match(server.stderr(), /stopped/);
    assert.equal(await canListen(port), true);
  });

  it("keeps serving when its output pipe closes (serve 2>&1 | head -1): the same guarded entry as cli/main.ts", async () => {
    const echo = await echoServer();
    const child = spawn("node", [bundle, "serve", "--listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stderr.on("data", (chunk: Uint8Array) => (log += new TextDecoder().decode(chunk)));
    let exited = false;
    const exit = new Promise<number | null>((resolve) => child.on("close", (code) => ((exited = true), resolve(code))));
    try {
      await waitFor(() => log, /listening on 127\.0\.0\.1:\d+/, "start");
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(log)![1]);
      // `head -1` has its line and exits: both ends it read are closed, and the next log line meets EPIPE.
      child.stderr.destroy();
      child.stdout.destroy();
      for (let i = 0; i < 4; i++) {
        const { client, reply } = await socks5Connect({ hostname: "127.0.0.1", port }, {
          address: { type: "ipv4", host: "127.0.0.1" },
          port: echo.address.port,
        });
        assert.equal(reply.reply, 0, `request ${i + 1}`);
        await client.send([i]);
        assert.deepEqual([...await client.reader.readExactly(1)], [i]);
        client.close();
      }
      assert.equal(exited, false, "the server is still running");
      process.kill(child.pid!, "SIGTERM");
      assert.equal(await exit, 0);
    } finally {
      if (!exited) child.kill("SIGKILL");
      for (const connection of echo.accepted) connection.close();
      await echo.close();
    }
  });
});
