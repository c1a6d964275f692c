/**
 * SIGHUP reloads the users file (and the config file): an open tunnel keeps moving bytes, a user added to the file
 * can authenticate afterwards, and a broken file changes nothing. With one process and with two workers.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import type { Listener } from "../../lib/net/network.ts";
import { boundSocks5 } from "../helpers/bound_client.ts";
import { echoServer, sleep } from "../helpers/net.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1));

async function logCount(stderr: () => string, pattern: RegExp, count: number): Promise<void> {
  for (let waited = 0; waited < 20_000; waited += 50) {
    if ((stderr().match(new RegExp(pattern, "gm")) ?? []).length >= count) return;
    await sleep(50);
  }
  throw new Error(`the log never showed ${count} x ${pattern}:\n${stderr()}`);
}

describe("SIGHUP reload", () => {
  let dir: string;
  let echo: Listener;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tabi-reload-"));
    echo = await echoServer();
  });
  after(async () => {
    await echo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const workers of [1, 2]) {
    it(`--workers ${workers}: an open tunnel survives, a new user gets in, a broken file changes nothing`, async () => {
      const users = join(dir, `users-${workers}`);
      const config = join(dir, `config-${workers}.json`);
      writeFileSync(users, "alice:wonderland\n");
      chmodSync(users, 0o600);
      writeFileSync(config, JSON.stringify({ usersFile: users }));
      const tabi = await startTabiServe(runtimeName(), [
        "--listen",
        "127.0.0.1:0",
        "--config",
        config,
        "--workers",
        String(workers),
        "--log",
        "json",
      ]);
      const port = portOf(tabi.proxy);
      const target = echo.address.port;
      try {
        const open = await boundSocks5(port, "127.0.0.2", target, { user: ["alice", "wonderland"] });
        assert.equal(open.reply, 0);
        assert.equal((await boundSocks5(port, "127.0.0.3", target, { user: ["bob", "builder"] })).reply, undefined);

        writeFileSync(users, "alice:wonderland\nbob:builder\n");
        tabi.kill("SIGHUP");
        await logCount(tabi.stderr, /SIGHUP: reloaded \(2 users, 0 rules\)/, workers);
        assert.deepEqual([...(await open.echo(new Uint8Array([1, 2, 3])))], [1, 2, 3], "the open tunnel still moves");
        for (let i = 0; i < 4; i++) {
          const bob = await boundSocks5(port, "127.0.0.3", target, { user: ["bob", "builder"] });
          assert.equal(bob.reply, 0, "bob, added to the file, gets in (every worker knows him)");
          bob.close();
        }

        writeFileSync(config, "{ not json");
        writeFileSync(users, "alice:wonderland\n");
        tabi.kill("SIGHUP");
        await logCount(tabi.stderr, /SIGHUP: reload failed, the running configuration stays: .*config/, workers);
        const bob = await boundSocks5(port, "127.0.0.3", target, { user: ["bob", "builder"] });
        assert.equal(bob.reply, 0, "the broken config changed nothing: bob is still in");
        bob.close();
        assert.deepEqual([...(await open.echo(new Uint8Array([4])))], [4]);
        open.close();
      } finally {
        tabi.kill("SIGTERM");
        await tabi.exited;
      }
      assert.ok(!tabi.stderr().includes("wonderland") && !tabi.stderr().includes("builder"), "no password logged");
    });
  }

  it("a reload that fails on a config file spread over lines logs one line (V8 quotes the file's line breaks)", async () => {
    const config = join(dir, "config-lines.json");
    writeFileSync(config, JSON.stringify({ handshakeTimeout: 5 }));
    const tabi = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--config", config]);
    try {
      writeFileSync(config, '{\n  "handshakeTimeout": x\n}\n');
      tabi.kill("SIGHUP");
      // The record is written whole, in one write: its line and any lines it was split into arrive together.
      await logCount(tabi.stderr, /SIGHUP: reload failed, the running configuration stays: --config .*\n/, 1);
      const lines = tabi.stderr().split("\n").filter((line) => line !== "");
      assert.deepEqual(lines.filter((line) => !line.startsWith("tabi")), [], tabi.stderr());
      assert.equal(lines.length, 2, tabi.stderr());
    } finally {
      tabi.kill("SIGTERM");
      await tabi.exited;
    }
  });
});
