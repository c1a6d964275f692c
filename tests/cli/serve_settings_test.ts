/** The settings table of `tabi serve` and what is derived from it, run in-process. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseOptions } from "../../cli/flags.ts";
import { SERVE_HELP } from "../../cli/serve.ts";
import { configKeys, serveOptionTable, serveSettings } from "../../cli/serve_config.ts";
import { SERVE_SETTINGS } from "../../cli/serve_settings.ts";
import { DEFAULT_LIMITS } from "../../lib/server/limits.ts";

const dir = mkdtempSync(join(tmpdir(), "tabi-settings-"));
let files = 0;
function configFile(content: string): string {
  const path = join(dir, `config${files++}.json`);
  writeFileSync(path, content);
  return path;
}
const parse = (args: string[]) => serveSettings(parseOptions(args, serveOptionTable()).values);

describe("tabi serve settings table", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("every flag is in the help and in the parseArgs table; every key is a config key", () => {
    const table = serveOptionTable();
    for (const s of SERVE_SETTINGS) {
      if (s.flag !== undefined) {
        assert.ok(SERVE_HELP.includes(`--${s.flag}`), s.flag);
        assert.ok(s.flag in table, s.flag);
      }
      if (s.key !== undefined) assert.ok(configKeys().includes(s.key), s.key);
    }
    assert.equal(Object.keys(table).length, SERVE_SETTINGS.filter((s) => s.flag !== undefined).length);
    assert.match(SERVE_HELP, /--handshake-timeout S +.*\(default 30\)/);
    assert.match(SERVE_HELP, /--max-udp-per-client N +.*\(default 16\)/);
    assert.match(SERVE_HELP, /-h, --help/);
  });

  it("defaults with no flag and no file", async () => {
    const settings = await parse([]);
    assert.deepEqual(settings.options.listen, [{ hostname: "127.0.0.1", port: 1080 }]);
    assert.deepEqual(settings.options.limits, DEFAULT_LIMITS);
    assert.equal(settings.log, "text");
    assert.equal(settings.quiet, false);
    assert.equal(settings.graceMs, 10_000);
    assert.equal(settings.usersFile, undefined);
  });

  it("a flag wins over its config key; the file fills in the rest", async () => {
    const path = configFile(JSON.stringify({
      listen: ["127.0.0.2:1"],
      idleTimeout: 5,
      maxClients: 7,
      maxHandshakes: 9,
      log: "json",
      quiet: true,
      allowOpen: true,
      rules: [{ action: "allow" }],
    }));
    const settings = await parse([
      "--config",
      path,
      "--listen",
      "[::1]:2",
      "--idle-timeout",
      "0.25",
      "--max-clients",
      "3",
      "--log",
      "text",
    ]);
    assert.deepEqual(settings.options.listen, [{ hostname: "::1", port: 2 }]);
    assert.equal(settings.options.idleTimeoutMs, 250);
    assert.equal(settings.options.limits?.maxClients, 3);
    assert.equal(settings.options.limits?.maxHandshakes, 9);
    assert.equal(settings.log, "text");
    assert.equal(settings.quiet, true);
    assert.equal(settings.options.allowOpen, true);
    assert.deepEqual(settings.options.rules, [{ action: "allow" }]);
  });

  it("users from the file's object, a users file and --user add up; --user wins for the same name", async () => {
    const usersPath = join(dir, "users.txt");
    writeFileSync(usersPath, "# comment\nbob:from-file\ncarol:c\n", { mode: 0o600 });
    const path = configFile(JSON.stringify({ users: { alice: "a", bob: "from-config" }, usersFile: usersPath }));
    const settings = await parse(["--config", path, "--user", "carol:from-flag"]);
    assert.deepEqual(
      [...settings.options.users ?? []].sort(),
      [["alice", "a"], ["bob", "from-file"], ["carol", "from-flag"]],
    );
    assert.equal(settings.usersFile, usersPath);
  });

  it("a wrong type or an unknown key in the file is refused, naming the file and the key", async () => {
    const cases: [unknown, RegExp][] = [
      [{ idleTimeout: "5" }, /"idleTimeout" must be a number of seconds >= 0/],
      [{ quiet: "yes" }, /"quiet" must be true or false/],
      [{ log: "xml" }, /"log" must be text or json/],
      [{ users: ["alice:x"] }, /"users" must be an object of name: password/],
      [{ users: { alice: 5 } }, /"users" must be an object of name: password/],
      [{ maxUdpAssociations: 1.5 }, /"maxUdpAssociations" must be a whole number >= 1/],
      [{ rules: {} }, /"rules" must be an array of rules/],
      [{ help: true }, /unknown field "help"/],
      [{ config: "x.json" }, /unknown field "config"/],
      [{ Listen: ["127.0.0.1:1"] }, /unknown field "Listen"/],
    ];
    for (const [content, message] of cases) {
      const path = configFile(JSON.stringify(content));
      await assert.rejects(parse(["--config", path]), (error: Error) => {
        assert.equal(error.name, "UsageError");
        assert.ok(error.message.startsWith(`--config ${path}: `), error.message);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  it("a wrong flag value is refused naming the flag", async () => {
    const cases: [string[], RegExp][] = [
      [["--grace=-1"], /^--grace: "-1" is not a number of seconds >= 0$/],
      [["--max-udp", "1e3"], /^--max-udp: "1e3" is not a whole number >= 1$/],
      [["--log", "xml"], /^--log: "xml" is not text or json$/],
      [["--listen", "example.com:1"], /^--listen: "example.com:1": use an IP address$/],
      [["--user", "alice:"], /^--user: "alice:" is not NAME:PASSWORD$/],
    ];
    for (const [args, message] of cases) {
      await assert.rejects(parse(args), (error: Error) => {
        assert.equal(error.name, "UsageError");
        assert.match(error.message, message);
        return true;
      });
    }
  });
  it("review findings: each mistake is refused at start, naming the flag or the file and key", async () => {
    const emptyUsers = join(dir, "empty_users.txt");
    writeFileSync(emptyUsers, "# nobody yet\n\n", { mode: 0o600 });
    const flagCases: [string[], RegExp][] = [
      [["--handshake-timeout", "2200000"], /^--handshake-timeout: 2200000 s is more than 2147483\.647 s/],
      [["--idle-timeout", "3000000"], /^--idle-timeout: 3000000 s is more than/],
      [["--udp-timeout", "2147483.648"], /^--udp-timeout: 2147483\.648 s is more than/],
      [["--grace", "9999999"], /^--grace: 9999999 s is more than/],
      [["--external-address", "banana"], /^--external-address: "banana" is not an IP address$/],
      [["--external-address", "[::1]"], /^--external-address: "\[::1\]" is not an IP address$/],
      [["--listen", "::1:1080"], /^--listen: "::1:1080": write an IPv6 address in brackets, e\.g\. \[::1\]:1080$/],
      [["--listen", "fe80::1"], /^--listen: "fe80::1": write an IPv6 address in brackets, e\.g\. \[fe80::1\]:PORT$/],
      [["--users", emptyUsers], new RegExp(`^--users ${emptyUsers}: the file names no user`)],
    ];
    for (const [args, message] of flagCases) {
      await assert.rejects(parse(args), (error: Error) => {
        assert.equal(error.name, "UsageError");
        assert.match(error.message, message);
        return true;
      });
    }
    const fileCases: [unknown, RegExp][] = [
      [{ handshakeTimeout: 2200000 }, /"handshakeTimeout": 2200000 s is more than 2147483\.647 s/],
      [{ externalAddress: "banana" }, /"externalAddress" must be an IP address/],
      [{ users: { "": "x" } }, /"users": user "": a user needs a name and a password/],
      [{ users: { alice: "" } }, /"users": user "alice": a user needs a name and a password/],
      [{ usersFile: emptyUsers }, /"usersFile" .*: the file names no user/],
      [{ rules: [{ action: "allow", client: ["10.0.0.0/8"] }] }, /"rules": rule 1: unknown field "client"/],
      [{ rules: [{ action: "deny" }, { action: "allow", users: "alice" }] }, /rule 2: "users" must be an array/],
      [{ listen: ["::1:1080"] }, /"listen": "::1:1080": write an IPv6 address in brackets/],
    ];
    for (const [content, message] of fileCases) {
      const path = configFile(JSON.stringify(content));
      await assert.rejects(parse(["--config", path]), (error: Error) => {
        assert.equal(error.name, "UsageError");
        assert.ok(error.message.startsWith(`--config ${path}: `), error.message);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  it("the longest timer and 0 are accepted", async () => {
    const settings = await parse(["--handshake-timeout", "2147483.647", "--udp-timeout", "0", "--grace", "0"]);
    assert.equal(settings.options.handshakeTimeoutMs, 2 ** 31 - 1);
    assert.equal(settings.options.udpIdleTimeoutMs, 0);
    assert.equal(settings.graceMs, 0);
  });

  it("a users file keeps trailing spaces in passwords; a config file may start with a UTF-8 BOM", async () => {
    const usersPath = join(dir, "spaces.txt");
    writeFileSync(usersPath, "alice:pass word  \r\n  bob:b\t\n", { mode: 0o600 });
    const path = configFile("\uFEFF" + JSON.stringify({ usersFile: usersPath, idleTimeout: 2 }));
    const settings = await parse(["--config", path]);
    assert.deepEqual([...settings.options.users ?? []], [["alice", "pass word  "], ["bob", "b\t"]]);
    assert.equal(settings.options.idleTimeoutMs, 2000);
  });

  it("--response-timeout and responseTimeout: seconds, 120 by default, 0 for never", async () => {
    assert.match(SERVE_HELP, /--response-timeout S +.*\(default 120\)/);
    assert.equal((await parse(["--response-timeout", "2.5"])).options.responseTimeoutMs, 2500);
    assert.equal((await parse(["--response-timeout", "0"])).options.responseTimeoutMs, 0);
    const path = configFile(JSON.stringify({ responseTimeout: 7 }));
    assert.equal((await parse(["--config", path])).options.responseTimeoutMs, 7000);
    await assert.rejects(parse(["--response-timeout", "3000000"]), (error: Error) => {
      assert.match(error.message, /^--response-timeout: 3000000 s is more than/);
      return true;
    });
  });
});
