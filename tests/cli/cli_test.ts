import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { VERSION } from "../../lib/version.ts";
import { requirePeer } from "../helpers/peers.ts";
import { cliCommand, run } from "../helpers/process.ts";
import { network } from "../helpers/net.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";
import { httpServer, payload, sameBytes } from "../helpers/targets.ts";

const [command, prefix] = cliCommand();
const tabi = (args: string[], timeoutMs = 20_000) => run(command, [...prefix, ...args], { timeoutMs });
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("tabi command line", () => {
  it("--help and --version", async () => {
    const help = await tabi(["--help"]);
    assert.equal(help.code, 0);
    assert.match(text(help.stdout), /tabi serve/);
    const version = await tabi(["--version"]);
    assert.equal(version.code, 0);
    assert.equal(text(version.stdout).trim(), `tabi ${VERSION}`);
    const serveHelp = await tabi(["serve", "--help"]);
    assert.equal(serveHelp.code, 0);
    assert.match(text(serveHelp.stdout), /--allow-open/);
  });

  it("the version matches deno.json", () => {
    assert.equal(JSON.parse(readFileSync("deno.json", "utf8")).version, VERSION);
  });

  it("mistakes exit 2 and name the flag", async () => {
    const cases: [string[], RegExp][] = [
      [["--bogus"], /--bogus/],
      [["frobnicate"], /unknown command "frobnicate"/],
      [["serve", "--bogus"], /--bogus/],
      [["serve", "--listen", "127.0.0.1:99999"], /--listen.*99999/],
      [["serve", "--log", "xml"], /--log.*xml/],
      [["serve", "--connect-timeout", "soon"], /--connect-timeout.*soon/],
      [["serve", "--user", "nopassword"], /--user.*NAME:PASSWORD/],
      [["serve", "--users", "/no/such/file"], /--users \/no\/such\/file/],
      [["serve", "extra"], /unexpected argument "extra"/],
      [["serve", "--max-clients", "0"], /--max-clients: "0" is not a whole number >= 1/],
      [["serve", "--max-udp-per-client", "lots"], /--max-udp-per-client: "lots"/],
    ];
    for (const [args, message] of cases) {
      const result = await tabi(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  it("a bad config file is refused with its path and the problem", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tabi-cli-"));
    const cases: [string, RegExp][] = [
      ["{ not json", /config\.json/],
      ['{"listen": "127.0.0.1:1080"}', /"listen" must be an array of strings/],
      ['{"colour": "blue"}', /unknown field "colour"/],
      ['{"rules": [{"action": "maybe"}]}', /rule 1: action must be "allow" or "deny"/],
      ['{"rules": [{"action": "deny", "clients": ["10.0.0.0/33"]}]}', /rule 1: clients/],
      ['{"maxHandshakes": -1}', /"maxHandshakes" must be a whole number >= 1/],
    ];
    try {
      for (const [content, message] of cases) {
        const path = join(dir, "config.json");
        writeFileSync(path, content);
        const result = await tabi(["serve", "--config", path]);
        assert.equal(result.code, 2, result.stderr);
        assert.ok(result.stderr.includes(path), result.stderr);
        assert.match(result.stderr, message);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("over a limit: refusals are logged as one line per interval (flushed at stop), not one per client", async () => {
    const child = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--max-clients-per-address", "1"]);
    try {
      const [hostname, port] = [child.proxy.split(":")[0], Number(child.proxy.split(":")[1])];
      const held = await network.connect({ hostname, port });
      for (let i = 0; i < 3; i++) {
        const refused = await network.connect({ hostname, port });
        const reader = refused.readable.getReader();
        assert.equal((await reader.read().catch(() => ({ done: true }))).done, true);
        refused.close();
      }
      held.close();
      child.kill("SIGTERM");
      await child.exited;
      const lines = child.stderr().split("\n").filter((l) => l.includes("refused"));
      assert.deepEqual(lines, ["tabi: refused in the last 10 s: 3 over --max-clients-per-address (1)"]);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("warns when the users file can be read by others", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tabi-cli-"));
    try {
      const path = join(dir, "users.txt");
      writeFileSync(path, "alice:s3cret\n");
      chmodSync(path, 0o644);
      const loose = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--users", path]);
      loose.kill("SIGKILL");
      await loose.exited;
      assert.match(loose.stderr(), new RegExp(`warning: ${path} is readable by others \\(chmod 600 it\\)`));
      chmodSync(path, 0o600);
      const tight = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--users", path]);
      tight.kill("SIGKILL");
      await tight.exited;
      assert.doesNotMatch(tight.stderr(), /warning/);
      assert.doesNotMatch(loose.stderr() + tight.stderr(), /s3cret/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a non-loopback address without authentication, naming --allow-open", async () => {
    const result = await tabi(["serve", "--listen", "0.0.0.0:0"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /without authentication.*--allow-open/);
  });

  it("tabi serve serves curl over every SOCKS version, logs each connection, and stops on SIGTERM", async () => {
    requirePeer("curl");
    const body = payload(100_000);
    const web = await httpServer("127.0.0.1", body);
    const child = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--listen", "[::1]:0"]);
    try {
      const proxy = child.proxy;
      assert.match(child.stderr(), /\[::1\]:\d+/);
      for (const mode of ["--socks4", "--socks4a", "--socks5", "--socks5-hostname"]) {
        const result = await run("curl", ["-sS", "--max-time", "10", mode, proxy, `http://localhost:${web.port}/`]);
        assert.equal(result.code, 0, `${mode}: ${result.stderr}`);
        assert.ok(sameBytes(result.stdout, body), mode);
      }
      child.kill("SIGTERM");
      const code = await child.exited;
      const stderr = child.stderr();
      // The graceful stop is what "stopped" proves. Deno's child_process reports a child it signalled as killed
      // (code null) even when the child exits 0 by itself, as this one does (bash sees 0); so only Deno gets null.
      assert.ok(code === 0 || (code === null && runtimeName() === "deno"), `exit code ${code}`);
      // curl may exit before the server has logged its last tunnel: that one is then "open" at SIGTERM, finishes,
      // and is still logged before "stopped".
      const addresses = `127\\.0\\.0\\.1:\\d+, \\[::1\\]:\\d+`;
      const who = `tabi ${VERSION.replaceAll(".", "\\.")} \\(${runtimeName()} [0-9.]+[^)]*\\)`;
      assert.match(
        stderr,
        new RegExp(`^${who}: listening on ${addresses} \\(SOCKS4, 4a, 5, HTTP; no authentication\\)\n`),
      );
      assert.match(
        stderr,
        new RegExp(`SIGTERM: no new connections[\\s\\S]*\n${who}: stopped; was listening on ${addresses}\n$`),
      );
      const logLines = stderr.split("\n").filter((l) => /^time=\S+ client=/.test(l));
      assert.equal(logLines.length, 4);
      assert.ok(logLines.every((l) => /outcome=ok .*down=\d{6}/.test(l)), logLines.join("\n"));
      assert.ok(
        logLines.some((l) => l.includes("version=socks4")) &&
          logLines.some((l) => l.includes(`destination=localhost:${web.port}`)),
      );
      // How each destination arrived: curl resolves for --socks4 and --socks5, the proxy for the other two.
      const count = (pattern: RegExp) => logLines.filter((l) => pattern.test(l)).length;
      assert.equal(count(/ version=socks4 .*destination=127\.0\.0\.1:\d+ type=ipv4 /), 1, logLines.join("\n"));
      assert.equal(count(/ version=socks4a .*destination=localhost:\d+ type=domain /), 1, logLines.join("\n"));
      assert.equal(count(/ version=socks5 .* type=ipv[46] /), 1, logLines.join("\n"));
      assert.equal(count(/ version=socks5 .*destination=localhost:\d+ type=domain /), 1, logLines.join("\n"));
    } finally {
      child.kill("SIGKILL");
      web.close();
    }
  });
});
