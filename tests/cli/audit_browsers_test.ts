import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cliCommand, run } from "../helpers/process.ts";
import { requirePeer } from "../helpers/peers.ts";

/**
 * Browsers make background requests through any proxy: `tabi audit` always runs them in its loopback-only network
 * namespace, where the audit proxy forwards nothing, so none of it leaves the machine.
 */
async function auditBrowser(args: string[]) {
  const [command, prefix] = cliCommand();
  const result = await run(command, [...prefix, "audit", "--json", "--timeout", "90", ...args], {
    timeoutMs: 150_000,
  });
  const text = new TextDecoder().decode(result.stdout);
  try {
    return { code: result.code, report: JSON.parse(text) };
  } catch {
    throw new Error(`no JSON report (exit ${result.code}): ${text}${result.stderr}`);
  }
}

describe("tabi audit --browser", () => {
  for (
    const [browser, args, verdict, version] of [
      ["chromium", ["--socks-version", "5"], "no-leak", "5"],
      ["chromium", ["--socks-version", "4"], "dns-leak", "4"],
      ["firefox-esr", [], "no-leak", "5"],
      ["firefox-esr", ["--remote-dns", "on"], "no-leak", "5"],
      ["firefox-esr", ["--remote-dns", "off"], "dns-leak", "5"],
    ] as const
  ) {
    it(`${browser} ${args.join(" ")}: ${verdict}`, { timeout: 160_000 }, async () => {
      for (const peer of [browser, "unshare", "ip", "mount"]) requirePeer(peer);
      const { code, report } = await auditBrowser([
        "--browser",
        browser === "chromium" ? "chromium" : "firefox",
        ...args,
      ]);
      assert.equal(report.verdict, verdict, JSON.stringify(report));
      assert.equal(code, verdict === "no-leak" ? 0 : 1);
      assert.equal(report.program.timedOut, false, "the browser loaded the page and exited by itself");
      const page = report.requests.filter((r: { outcome: string }) => r.outcome === "page");
      assert.ok(page.length > 0, JSON.stringify(report.requests));
      assert.ok(page.every((r: { version: string }) => r.version === version), JSON.stringify(page));
      assert.ok(
        page.every((r: { addressType: string }) => (r.addressType === "domain") === (verdict === "no-leak")),
        JSON.stringify(page),
      );
    });
  }

  it("a browser that is not installed: a clear error, exit 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tabi-nobrowser-"));
    try {
      // A PATH with what the audit itself needs, and no browser.
      for (const tool of ["unshare", "ip", "mount"]) symlinkSync(requirePeer(tool), join(dir, tool));
      const [command, prefix] = cliCommand();
      const result = await run(command, [...prefix, "audit", "--browser", "chromium"], {
        env: { PATH: dir },
        timeoutMs: 60_000,
      });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--browser chromium: none of chromium, .* is installed \(on Debian: apt-get install/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
