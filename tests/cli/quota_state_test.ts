/**
 * `tabi serve --state-dir`: quota counts saved while they change, read back on SIGHUP (an operator's edit of the
 * saved count is taken, the bytes counted since added on top) and at start, so a crash (SIGKILL) after a save
 * loses nothing and a spent quota stays spent across the restart.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { sleep } from "../helpers/net.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";
import { upload } from "../helpers/upload.ts";

/** Waits (up to 10 s) until the saved count of `key` is `bytes`. */
async function savedCount(file: string, key: string, bytes: number): Promise<void> {
  let last = "";
  for (let i = 0; i < 100; i++) {
    try {
      last = readFileSync(file, "utf8");
      if (JSON.parse(last).counts?.[key]?.bytes === bytes) return;
    } catch { /* not written yet */ }
    await sleep(100);
  }
  assert.fail(`${file} never said ${key} moved ${bytes} bytes: ${last}`);
}

describe(`tabi serve --state-dir under ${runtimeName()}`, () => {
  it("keeps the quota across a SIGHUP, a crash and a restart", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "tabi-state-"));
    const state = join(dir, "state");
    const file = join(state, "quota.json");
    const config = join(dir, "tabi.json");
    writeFileSync(
      config,
      JSON.stringify({
        listen: ["127.0.0.1:0"],
        users: { carol: { password: "c", quotaBytes: 100_000, quotaPeriod: "day" } },
        stateDir: state,
      }),
    );
    let serve = await startTabiServe(runtimeName(), ["--config", config]);
    try {
      const proxy = () => `socks5://carol:c@${serve.proxy}`;
      assert.equal(await upload(proxy(), 60_000), 60_000);
      await savedCount(file, "user:carol", 60_000);
      // The operator gives carol a fresh start: the edited count is read back at SIGHUP.
      const saved = JSON.parse(readFileSync(file, "utf8"));
      saved.counts["user:carol"].bytes = 0;
      writeFileSync(file, JSON.stringify(saved));
      serve.kill("SIGHUP");
      for (let i = 0; i < 100 && !/SIGHUP: reloaded/.test(serve.stderr()); i++) await sleep(50);
      assert.match(serve.stderr(), /SIGHUP: reloaded/);
      assert.equal(await upload(proxy(), 100_000), 100_000, "the whole quota again after the reset");
      await savedCount(file, "user:carol", 100_000);
      // A crash after the save loses nothing.
      serve.kill("SIGKILL");
      await serve.exited;
      serve = await startTabiServe(runtimeName(), ["--config", config]);
      await assert.rejects(upload(proxy(), 1_000), (error: { reply?: number }) => error.reply === 0x02);
      for (let i = 0; i < 100 && !/outcome=quota-exceeded/.test(serve.stderr()); i++) await sleep(50);
      assert.match(serve.stderr(), /user=carol .*outcome=quota-exceeded reply=2/);
    } finally {
      serve.kill("SIGTERM");
      await serve.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
