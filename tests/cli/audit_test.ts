import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { cliCommand, run } from "../helpers/process.ts";
import { requirePeer } from "../helpers/peers.ts";

/** Runs `tabi audit ARGS` as its own process (it re-runs itself inside namespaces) and reads its JSON report. */
async function audit(args: string[], env?: Record<string, string>) {
  const [command, prefix] = cliCommand();
  const result = await run(command, [...prefix, "audit", "--json", ...args], { timeoutMs: 60_000, env });
  const text = new TextDecoder().decode(result.stdout);
  let report;
  try {
    report = JSON.parse(text);
  } catch {
    throw new Error(`no JSON report (exit ${result.code}): ${text}${result.stderr}`);
  }
  return { code: result.code, report, stderr: result.stderr };
}

/** What the audit needs for its namespace. */
const NAMESPACE_PEERS = ["unshare", "ip", "mount"];

/** Command lines of running processes that contain `marker`. */
function processesWith(marker: string): string[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      return cmdline.includes(marker) ? [`${pid}: ${cmdline}`] : [];
    } catch {
      return []; // Gone meanwhile.
    }
  });
}

describe("tabi audit", () => {
  for (
    const [mode, verdict, code, version, addressType] of [
      ["--socks4", "dns-leak", 1, "4", "ipv4"],
      ["--socks4a", "no-leak", 0, "4a", "domain"],
      ["--socks5", "dns-leak", 1, "5", undefined],
      ["--socks5-hostname", "no-leak", 0, "5", "domain"],
    ] as const
  ) {
    it(`curl ${mode}: ${verdict}`, async () => {
      for (const peer of ["curl", ...NAMESPACE_PEERS]) requirePeer(peer);
      const result = await audit(["--", "curl", "-sS", "--max-time", "10", mode, "{socks}", "{url}"]);
      assert.equal(result.code, code, JSON.stringify(result.report));
      const { report } = result;
      assert.equal(report.verdict, verdict);
      assert.equal(report.lookupsObserved, true);
      assert.equal(report.program.exitCode, 0, "curl got the audit page");
      const site = report.requests.filter((r: { outcome: string }) => r.outcome === "page");
      assert.equal(site.length, 1, JSON.stringify(report.requests));
      assert.equal(site[0].version, version);
      if (addressType) assert.equal(site[0].addressType, addressType);
      else assert.match(site[0].addressType, /^ipv[46]$/);
      const lookedUp = report.lookups.some((l: { name: string }) => l.name === report.host);
      assert.equal(lookedUp, verdict === "dns-leak");
      assert.equal(report.program.command.includes(report.url), true, "{url} substituted");
      assert.equal(report.program.command.includes(report.proxy), true, "{socks} substituted");
    });
  }

  it("a program that ignores the proxy: no-request (exit 3), with an explanation", async () => {
    requirePeer("curl");
    const result = await audit(["--", "curl", "-sS", "--max-time", "5", "http://127.0.0.1:9/"]);
    assert.equal(result.code, 3);
    assert.equal(result.report.verdict, "no-request");
    assert.deepEqual(result.report.requests, []);
    assert.match(result.report.reasons[0], /never sent a request/);
  });

  it("the text report names the verdict and a USERID that was sent", async () => {
    requirePeer("curl");
    const [command, prefix] = cliCommand();
    const result = await run(command, [
      ...prefix,
      "audit",
      "--",
      "curl",
      "-sS",
      "--max-time",
      "10",
      "--socks4a",
      "{socks}",
      "--proxy-user",
      "jdoe:",
      "{url}",
    ], { timeoutMs: 60_000 });
    const text = new TextDecoder().decode(result.stdout);
    assert.equal(result.code, 0, text + result.stderr);
    assert.match(text, /^tabi audit: no-leak\n/);
    assert.match(text, /USERID "jdoe"/);
    assert.match(text, /note: the program sent the SOCKS4 USERID "jdoe"; .*login name/);
  });

  it("the audit's own runtime looks nothing up: a program that makes no lookup is reported with none", async () => {
    NAMESPACE_PEERS.forEach(requirePeer);
    // The program runs long enough for a runtime's own background lookup (Deno's update check) to be seen.
    const result = await audit(["--timeout", "10", "--", "sleep", "2"]);
    assert.equal(result.code, 3, result.stderr);
    assert.equal(result.report.lookupsObserved, true);
    assert.deepEqual(result.report.lookups, []);
    assert.equal(result.report.reasons.some((r: string) => /other name/.test(r)), false, result.report.reasons);
  });

  it("the program gets the user's environment, not the audit's quieting variables", async () => {
    NAMESPACE_PEERS.forEach(requirePeer);
    // Exit 0 only when the audit's markers are absent and a variable the user set is there.
    const script =
      'test -z "$DENO_NO_UPDATE_CHECK$TABI_AUDIT_INSIDE$TABI_QUIET_ADDED" && test "$NO_UPDATE_NOTIFIER" = mine';
    const result = await audit(["--", "sh", "-c", script], { NO_UPDATE_NOTIFIER: "mine" });
    assert.equal(result.report.program.exitCode, 0, JSON.stringify(result.report.program));
  });

  it("a lookup flood is capped: the records kept are bounded, the rest counted, the site's lookup still judged", async () => {
    for (const peer of ["python3", ...NAMESPACE_PEERS]) requirePeer(peer);
    // 1,500 questions for other names straight to the resolver (each waits for its answer), then the site's own.
    const flood = `
import socket, struct, sys, urllib.parse
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for i in range(1500):
    name = b"".join(bytes([len(p)]) + p for p in f"flood-{i}.example".encode().split(b"."))
    s.sendto(struct.pack(">6H", i, 0x0100, 1, 0, 0, 0) + name + b"\\0" + struct.pack(">2H", 1, 1), ("127.0.0.1", 53))
    try:
        s.recv(512)
    except socket.timeout:
        pass
try:
    socket.getaddrinfo(urllib.parse.urlsplit(sys.argv[1]).hostname, 80, socket.AF_INET)
except OSError:
    pass
`;
    const result = await audit(["--timeout", "60", "--", "python3", "-c", flood, "{url}"]);
    const { report } = result;
    assert.equal(report.verdict, "dns-leak", JSON.stringify(report.reasons));
    assert.equal(result.code, 1);
    assert.ok(report.lookups.length <= 1100, `${report.lookups.length} lookups kept`);
    assert.ok(report.lookups.some((l: { name: string }) => l.name === report.host), "the site's lookup is kept");
    assert.ok(report.lookups.length + report.lookupsDropped >= 1501, `${report.lookupsDropped} dropped`);
    assert.equal(report.requestsDropped, 0);
    assert.ok(report.reasons.join(" ").length < 2000, "the reasons name a few of the other names, not all");
  });

  it("the host's UNIX sockets in /tmp and /run are out of the program's reach", async () => {
    for (const peer of ["python3", ...NAMESPACE_PEERS]) requirePeer(peer);
    const tag = `tabi-audit-test-${process.pid}-${Date.now() % 100000}`;
    const paths = [join("/tmp", `${tag}.sock`), join("/run", `${tag}.sock`)];
    let accepted = 0;
    const servers = await Promise.all(paths.map((path) =>
      new Promise<net.Server>((resolve, reject) => {
        const server = net.createServer((socket) => {
          accepted++;
          socket.destroy();
        });
        server.once("error", reject);
        server.listen(path, () => resolve(server));
      })
    ));
    try {
      // Exit 0 when no path can be connected to, 1 when one can (it names which on stderr).
      const probe = `
import socket, sys
reached = []
for path in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        reached.append(path)
    except OSError:
        pass
sys.exit(1 if reached else 0)
`;
      const result = await audit(["--", "python3", "-c", probe, ...paths]);
      assert.equal(result.report.program.exitCode, 0, `a host socket was reached: ${JSON.stringify(result.report)}`);
      assert.equal(accepted, 0);
      // The sockets are there for whoever is outside: the probe itself works.
      const outside = await run("python3", ["-c", probe, ...paths]);
      assert.equal(outside.code, 1);
    } finally {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
      for (const path of paths) rmSync(path, { force: true });
    }
  });

  it("a program that hangs is stopped at --timeout, with everything it started", async () => {
    NAMESPACE_PEERS.forEach(requirePeer);
    const marker = `${1000 + Math.floor(Math.random() * 8000)}.${Date.now() % 100000}`;
    // A child in the program's group, and one that left it (setsid): both must be gone afterwards.
    const result = await audit(["--timeout", "2", "--", "sh", "-c", `setsid sleep ${marker} & sleep ${marker}`]);
    assert.equal(result.code, 3);
    assert.equal(result.report.program.timedOut, true);
    assert.deepEqual(processesWith(`sleep ${marker}`), []);
  });

  it("without namespaces (no unshare on the PATH): lookups unobserved, said so; a name still reaches the proxy", async () => {
    requirePeer("curl");
    const dir = mkdtempSync(join(tmpdir(), "tabi-nons-"));
    try {
      // Only curl on the PATH: no unshare, so the audit cannot make its namespace. These programs make no DNS
      // lookup of their own, so nothing reaches the real resolver.
      symlinkSync(requirePeer("curl"), join(dir, "curl"));
      const env = { PATH: dir };
      const named = await audit(
        ["--", "curl", "-sS", "--max-time", "10", "--socks5-hostname", "{socks}", "{url}"],
        env,
      );
      assert.equal(named.code, 0, JSON.stringify(named.report));
      assert.equal(named.report.verdict, "no-leak");
      assert.equal(named.report.lookupsObserved, false);
      const ignored = await audit(["--", "curl", "-sS", "--max-time", "5", "http://127.0.0.1:9/"], env);
      assert.equal(ignored.code, 3);
      assert.match(ignored.report.reasons.join(" "), /could not be observed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("without namespaces, --browser is refused (exit 2) and no browser is started", async () => {
    requirePeer("chromium");
    const dir = mkdtempSync(join(tmpdir(), "tabi-nons-"));
    try {
      // The browser is on the PATH, unshare is not: the audit must not run it on the machine's own network.
      symlinkSync(requirePeer("chromium"), join(dir, "chromium"));
      const [command, prefix] = cliCommand();
      const before = new Set(processesWith("chromium"));
      const result = await run(command, [...prefix, "audit", "--browser", "chromium"], {
        timeoutMs: 60_000,
        env: { PATH: dir },
      });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--browser needs a private network namespace/);
      assert.deepEqual(processesWith("chromium").filter((p) => !before.has(p)), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (
    const [args, pattern] of [
      [[], /either a command after -- or --browser/],
      [["--timeout", "x", "--", "true"], /--timeout/],
      [["--browser", "opera"], /--browser.*opera/],
      [["--socks-version", "4", "--", "true"], /--socks-version and --remote-dns go with --browser/],
      [["--browser", "chromium", "--remote-dns", "on"], /Chromium has no such setting/],
      [["curl", "{url}"], /put the command after --/],
      [["--", "no-such-program-here", "{url}"], /cannot run no-such-program-here: \S/],
    ] as const
  ) {
    it(`usage error, exit 2: ${args.join(" ") || "(nothing)"}`, async () => {
      const [command, prefix] = cliCommand();
      const result = await run(command, [...prefix, "audit", ...args], { timeoutMs: 60_000 });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, pattern);
    });
  }
});
