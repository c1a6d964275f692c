/**
 * socksFetch asks the local DNS nothing (issue: Deno's own proxied fetch looked every destination name up before it
 * asked the proxy). The scenario (dns_leak_scenario.ts) runs under the running runtime in a network and mount
 * namespace of its own (`unshare --net --mount`, loopback up, a private /etc/resolv.conf naming 127.0.0.1), whose
 * only resolver is a DNS recorder; the recorder must have heard nothing but the scenario's own control lookup.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { runtimeName } from "../../mod.ts";
import { requirePeer } from "../helpers/peers.ts";
import { run } from "../helpers/process.ts";

/** The name the scenario looks up on purpose, through the runtime's own resolver, once its fetches are done. */
const CONTROL_NAME = "control.example";

/** The command and leading arguments that run a TypeScript file under the running runtime. */
function scriptCommand(): [string, string[]] {
  const runtime = runtimeName();
  if (runtime === "deno") return [process.execPath, ["run", "-A"]];
  if (runtime === "bun") return [process.execPath, []];
  return [process.execPath, ["--import", "tsx"]];
}

describe("socksFetch and the local DNS", () => {
  it("http, https, socks4a, a redirect, WebSockets and the env preload by name: the resolver hears nothing", async () => {
    requirePeer("unshare");
    requirePeer("python3");
    requirePeer("ip");
    requirePeer("mount");
    const dir = mkdtempSync(join(tmpdir(), "tabi-dns-leak-"));
    try {
      const resolvConf = join(dir, "resolv.conf");
      writeFileSync(resolvConf, "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n");
      const log = join(dir, "questions.log");
      const [command, args] = scriptCommand();
      const scenario = join("tests", "fetch", "dns_leak_scenario.ts");
      const result = await run("unshare", [
        "--net",
        "--mount",
        "--",
        "sh",
        "-c",
        'ip link set lo up && mount --bind "$1" /etc/resolv.conf && shift && exec "$@"',
        "sh",
        resolvConf,
        command,
        ...args,
        scenario,
        log,
        CONTROL_NAME,
      ], { env: { DENO_NO_UPDATE_CHECK: "1" }, timeoutMs: 60_000 });
      const out = new TextDecoder().decode(result.stdout);
      assert.equal(result.code, 0, `scenario exited ${result.code}: ${out}\n${result.stderr}`);
      const { results, questions } = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as {
        results: Record<string, string>;
        questions: string[];
      };
      assert.match(results["http, socks5h"], /^200 hello from \/hello /);
      assert.match(results["https, socks5h"], /^200 hello from \/secure /);
      assert.match(results["http, socks4a"], /^200 hello from \/four /);
      assert.match(results["redirect to another name"], /^200 hello from \/hello http:\/\/other-name\.example:/);
      assert.equal(results["ws, socks5h"], "ws, socks5h 1000");
      assert.equal(results["wss, socks5h"], "wss, socks5h 1000");
      assert.equal(results["ws, socks4a"], "ws, socks4a 1000");
      // The environment preload, ALL_PROXY=socks5h://, an unmodified program (Node 20 has no global WebSocket).
      assert.equal(results["preload: fetch"], "200 hello from /fetch");
      assert.equal(results["preload: http.get"], "200 hello from /http-get");
      assert.equal(results["preload: https.request"], "200 hello from /https-request");
      if (runtimeName() !== "node") assert.equal(results["preload: WebSocket"], "through the env");
      const asked = [...new Set(questions.map((line) => line.split(" ")[0]))];
      // The control lookup proves the recorder is the resolver; anything else was asked by the fetching code.
      assert.deepEqual(asked, [CONTROL_NAME], `questions the resolver heard: ${questions.join(", ")}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
