import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { cliCommand, run } from "../helpers/process.ts";
import { requirePeer } from "../helpers/peers.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";
import { httpServer, payload, sameBytes } from "../helpers/targets.ts";

const UNSAFE = "unsafe: the client resolved the name itself";

/** The JSON log records in a server's stderr. */
function jsonRecords(stderr: string): Record<string, unknown>[] {
  return stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/** Waits until the server has logged `n` JSON records. */
async function records(server: { stderr(): string }, n: number): Promise<Record<string, unknown>[]> {
  for (let i = 0; i < 500 && jsonRecords(server.stderr()).length < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return jsonRecords(server.stderr());
}

describe("tabi serve: privacy flags", () => {
  let web: Awaited<ReturnType<typeof httpServer>>;
  const body = payload(2_000);
  let dir: string;
  before(async () => {
    web = await httpServer("127.0.0.1", body);
    dir = mkdtempSync(join(tmpdir(), "tabi-privacy-"));
  });
  after(() => {
    web.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("--safe-socks: curl --socks5-hostname passes, curl --socks5 is refused; the JSON log says why", async () => {
    requirePeer("curl");
    const server = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--safe-socks", "--log", "json"]);
    try {
      assert.match(server.stderr(), /safe-socks/);
      const url = `http://localhost:${web.port}/`;
      const ok = await run("curl", ["-sS", "--max-time", "10", "--socks5-hostname", server.proxy, url]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(sameBytes(ok.stdout, body));
      const refused = await run("curl", ["-sS", "--max-time", "10", "--socks5", server.proxy, url]);
      assert.equal(refused.code, 97, refused.stderr);
      const [first, second] = await records(server, 2);
      assert.match(String(first.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual(
        [first.version, first.addressType, first.destinationHost, first.destinationPort, first.safety, first.outcome],
        ["5", "domain", "localhost", web.port, "safe", "ok"],
      );
      assert.equal(second.safety, UNSAFE);
      assert.match(String(second.addressType), /^ipv[46]$/);
      assert.equal(second.reply, 2);
    } finally {
      server.kill("SIGKILL");
    }
  });

  it("config keys: testSocks logs an unsafe request without refusing it; acceptAnyCredentials labels", async () => {
    requirePeer("curl");
    const config = join(dir, "privacy.json");
    writeFileSync(config, JSON.stringify({ testSocks: true, acceptAnyCredentials: true, log: "text" }));
    const server = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--config", config]);
    try {
      const url = `http://127.0.0.1:${web.port}/`;
      const result = await run("curl", ["-sS", "--max-time", "10", "--socks5", server.proxy, "-U", "site-a:pw", url]);
      assert.equal(result.code, 0, result.stderr);
      let line: string | undefined;
      for (let i = 0; i < 500 && line === undefined; i++) {
        line = server.stderr().split("\n").find((l) => / outcome=ok /.test(l));
        if (line === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(line, server.stderr());
      assert.match(line, / label=site-a /);
      assert.match(line, new RegExp(` safety="${UNSAFE}" `));
      assert.ok(!line.includes("pw"), line);
    } finally {
      server.kill("SIGKILL");
    }
  });

  for (
    const [label, args, code, pattern] of [
      ["--accept-any-credentials with users", ["--accept-any-credentials", "--user", "a:b"], 1, /without users/],
      ["a config key of the wrong type", ["--config", "BAD"], 2, /"safeSocks" must be true or false/],
    ] as const
  ) {
    it(`refused at start: ${label}`, async () => {
      const config = join(dir, "bad.json");
      writeFileSync(config, JSON.stringify({ safeSocks: "yes" }));
      const [command, prefix] = cliCommand();
      const result = await run(command, [
        ...prefix,
        "serve",
        "--listen",
        "127.0.0.1:0",
        ...args.map((a) => a === "BAD" ? config : a),
      ]);
      assert.equal(result.code, code, result.stderr);
      assert.match(result.stderr, pattern);
    });
  }
});
