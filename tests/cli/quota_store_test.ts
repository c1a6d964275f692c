/**
 * `tabi serve --quota-store redis://...`: two instances share one quota through a real Redis (Debian's
 * redis-server, started here on a free loopback port): bytes moved through one count against the other, a tunnel
 * through the second is cut where the shared quota ends, and the first then refuses. Redis stopped mid-run: the
 * instance keeps serving and counting locally, says so, and adds what it counted meanwhile once Redis is back.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { periodOf } from "../../lib/server/quota_ledger.ts";
import { closedPort, sleep, waitForPort } from "../helpers/net.ts";
import { requirePeer } from "../helpers/peers.ts";
import { run } from "../helpers/process.ts";
import { startTabiServe, type TabiServe } from "../helpers/tabi_serve.ts";
import { upload } from "../helpers/upload.ts";

/** A redis-server on 127.0.0.1:`port`, its data in `dir` (kept across a restart). */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(requirePeer("redis-server"), [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "no",
  ], { stdio: "ignore" });
  await waitForPort(port, "redis-server");
  return child;
}

/** `redis-cli` against the test's Redis. */
async function redisCli(port: number, ...args: string[]): Promise<string> {
  const result = await run(requirePeer("redis-cli"), ["-p", String(port), ...args]);
  return new TextDecoder().decode(result.stdout).trim();
}

/** Waits (up to 10 s) until `serve`'s log matches `pattern`. */
async function logSays(serve: TabiServe, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 200 && !pattern.test(serve.stderr()); i++) await sleep(50);
  assert.match(serve.stderr(), pattern);
}

/** Waits (up to 10 s) until Redis holds `bytes` for `key` this period. */
async function redisSays(port: number, key: string, bytes: number): Promise<void> {
  const name = `tabi:quota:${key}:${periodOf("day", new Date())}`;
  let value = "";
  for (let i = 0; i < 100; i++) {
    value = await redisCli(port, "GET", name);
    if (value === String(bytes)) return;
    await sleep(100);
  }
  assert.fail(`Redis's ${name} is "${value}", not ${bytes}`);
}

describe(`tabi serve --quota-store under ${runtimeName()}`, () => {
  it("two instances, one quota; Redis stopped mid-run", { timeout: 60_000 }, async () => {
    requirePeer("redis-cli");
    const dir = mkdtempSync(join(tmpdir(), "tabi-redis-"));
    const port = await closedPort();
    const config = join(dir, "tabi.json");
    writeFileSync(
      config,
      JSON.stringify({
        listen: ["127.0.0.1:0"],
        users: {
          carol: { password: "c", quotaBytes: 100_000, quotaPeriod: "day" },
          dave: { password: "d", quotaBytes: 10_000_000, quotaPeriod: "day" },
        },
        quotaStore: `redis://127.0.0.1:${port}/0`,
      }),
    );
    let redis = await startRedis(port, dir);
    const a = await startTabiServe(runtimeName(), ["--config", config]);
    const b = await startTabiServe(runtimeName(), ["--config", config]);
    try {
      assert.equal(await upload(`socks5://carol:c@${a.proxy}`, 60_000), 60_000);
      await redisSays(port, "user:carol", 60_000);
      // B learns the fleet's total at its next sync (one a second).
      await sleep(1_500);
      assert.equal(await upload(`socks5://carol:c@${b.proxy}`, 60_000), 40_000, "B cut at the shared quota");
      await logSays(b, /user=carol .*outcome=quota-reached/);
      await redisSays(port, "user:carol", 100_000);
      await sleep(1_500);
      await assert.rejects(upload(`socks5://carol:c@${a.proxy}`, 1_000), (e: { reply?: number }) => e.reply === 0x02);

      // Redis goes away (saving its data first): A keeps serving and counting.
      const gone = new Promise((resolve) => redis.once("exit", resolve));
      await redisCli(port, "SHUTDOWN", "SAVE");
      await gone;
      await logSays(a, /quota store unreachable .*serving on, counting locally/);
      assert.equal(await upload(`socks5://dave:d@${a.proxy}`, 50_000), 50_000);
      redis = await startRedis(port, dir);
      await logSays(a, /quota store reachable again/);
      // Nothing counted during the outage was lost, and the earlier counts are still there.
      await redisSays(port, "user:dave", 50_000);
      await redisSays(port, "user:carol", 100_000);
    } finally {
      a.kill("SIGTERM");
      b.kill("SIGTERM");
      await a.exited;
      await b.exited;
      redis.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
