// Browsers through `tabi serve --tls-cert` as an HTTPS proxy, each inside a network namespace of its own (only
// loopback: nothing the browser does in the background leaves the machine), the throwaway CA trusted through an NSS
// database made with certutil: Chromium with --proxy-server=https://localhost:PORT, Firefox through a PAC file
// answering "HTTPS localhost:PORT". tests/cli/tls_browser.sh does the work inside the namespace.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cliCommand, run } from "../helpers/process.ts";
import { requirePeer } from "../helpers/peers.ts";
import { makeTestPki } from "../helpers/tls_certs.ts";

const SCRIPT = new URL("./tls_browser.sh", import.meta.url).pathname;
const MARKER = "tabi-tls-page-marker";

describe("browsers through tabi's HTTPS proxy (in a network namespace)", () => {
  for (const [browser, peer] of [["chromium", "chromium"], ["firefox", "firefox-esr"]] as const) {
    it(`${browser}: the page comes through the TLS port`, { timeout: 120_000 }, async () => {
      for (const needed of [peer, "unshare", "ip", "certutil", "python3"]) requirePeer(needed);
      const pki = makeTestPki();
      const dir = mkdtempSync(join(tmpdir(), `tabi-${browser}-`));
      try {
        mkdirSync(join(dir, "site"));
        writeFileSync(join(dir, "site", "index.html"), `<html><body>${MARKER}</body></html>\n`);
        const [command, prefix] = cliCommand();
        const result = await run(
          requirePeer("unshare"),
          ["--net", "bash", SCRIPT, dir, browser, pki.caCert, pki.ecChain, pki.ecKey, command, ...prefix],
          { timeoutMs: 100_000 },
        );
        const log = readFileSync(join(dir, "tabi.log"), "utf8");
        assert.equal(result.code, 0, `${result.stderr}\n${log}`);
        const records = log.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
        const page = records.find((r) => r.destination === "127.0.0.1:8000" && r.reply === 200);
        assert.ok(page, `no record of the page in:\n${log}`);
        assert.equal(page.tls, "TLSv1.3");
        assert.equal(page.outcome, "ok");
        // Every record came over TLS (the port is --tls-only).
        assert.ok(records.every((r) => r.tls !== undefined || r.error?.includes("TLS")), log);
        if (browser === "chromium") assert.match(readFileSync(join(dir, "page"), "utf8"), new RegExp(MARKER));
        else assert.equal(readFileSync(join(dir, "page"), "utf8").trim(), "screenshot");
      } finally {
        rmSync(dir, { recursive: true, force: true });
        pki.remove();
      }
    });
  }
});
