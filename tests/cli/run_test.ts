// `tabi run`: programs with no proxy setting (curl, wget, Python's urllib, git over http, Debian's static busybox
// wget) fetch from a name that only the proxy side can resolve (a hosts file the outer side alone sees, in a mount
// namespace of this test's own), a literal address goes through the proxy too, raw UDP reaches nothing, the exit code
// and stdin pass through, a --proxy chain gets the name, `tabi audit` finds no leak, and without isolation it refuses.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { closedPort, network, waitForPort } from "../helpers/net.ts";
import { requirePeer } from "../helpers/peers.ts";
import { cliCommand, run } from "../helpers/process.ts";
import { payload, sameBytes } from "../helpers/targets.ts";
import { visibleTmp } from "../helpers/visible_tmp.ts";

const NAME = "only-outer.tabi.test";
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function jsonRecords(stderr: string): Record<string, unknown>[] {
  return stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

describe("tabi run", () => {
  const body = payload(5_000);
  let dir: string;
  // Directories the program writes to: not under /tmp, which is private to it.
  const visible: string[] = [];
  let www: string;
  let webPort: number;
  let web: ReturnType<typeof spawn>;
  let hosts: string;

  /** `tabi run --log json ARGS -- sh -c SCRIPT`, the outer side seeing `hosts` as /etc/hosts. */
  async function tabiRun(args: string[], script: string, input?: string) {
    const [command, prefix] = cliCommand();
    return await run("unshare", [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount --bind "$1" /etc/hosts && shift && exec "$@"',
      "sh",
      hosts,
      command,
      ...prefix,
      "run",
      "--log",
      "json",
      ...args,
      "--",
      "sh",
      "-c",
      script,
    ], { timeoutMs: 120_000, input: input === undefined ? undefined : new TextEncoder().encode(input) });
  }

  before(async () => {
    for (const peer of ["curl", "wget", "git", "busybox", "socat", "nft", "unshare", "ip", "mount", "python3"]) {
      requirePeer(peer);
    }
    dir = mkdtempSync(join(tmpdir(), "tabi-run-test-"));
    www = join(dir, "www");
    mkdirSync(www);
    writeFileSync(join(www, "page"), body);
    // A repository git can clone over "dumb" HTTP from a plain file server.
    const repo = join(dir, "repo");
    for (
      const args of [
        ["init", "-q", "-b", "main", repo],
        ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "one"],
        ["clone", "-q", "--bare", repo, join(www, "repo.git")],
        ["-C", join(www, "repo.git"), "update-server-info"],
      ]
    ) {
      const result = await run("git", args);
      assert.equal(result.code, 0, result.stderr);
    }
    webPort = await closedPort();
    web = spawn("python3", ["-m", "http.server", String(webPort), "--bind", "127.0.0.1", "--directory", www], {
      stdio: "ignore",
    });
    await waitForPort(webPort, "python3 -m http.server");
    hosts = join(dir, "hosts");
    writeFileSync(hosts, `127.0.0.1 localhost\n127.0.0.1 ${NAME}\n`);
  });
  after(() => {
    web?.kill("SIGTERM");
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const made of visible) rmSync(made, { recursive: true, force: true });
  });

  it("curl, wget, urllib, git and a static busybox wget, with no proxy setting, reach a name only the proxy resolves", async () => {
    // Not under /tmp: the program gets private, empty /tmp, /var/tmp, /run and /dev/shm (docs/run.md).
    const out = visibleTmp("tabi-run-out-");
    visible.push(out);
    const url = `http://${NAME}:${webPort}`;
    const script = [
      `curl -sS --max-time 20 -o ${out}/curl ${url}/page`,
      `wget -q -T 20 -O ${out}/wget ${url}/page`,
      `python3 -c 'import urllib.request,sys; open(sys.argv[1], "wb").write(urllib.request.urlopen(sys.argv[2]).read())' ${out}/urllib ${url}/page`,
      `git clone -q ${url}/repo.git ${out}/clone`,
      `busybox wget -q -O ${out}/busybox ${url}/page`,
      // A literal address goes through the proxy as that address.
      `curl -sS --max-time 20 -o ${out}/literal http://127.0.0.1:${webPort}/page`,
      // The program's resolver is tabi's DNS port, whatever address it asks: never a real resolver.
      `python3 -c 'import socket; print("resolved", socket.gethostbyname("${NAME}"))'`,
    ].join(" && ");
    const result = await tabiRun([], script);
    assert.equal(result.code, 0, result.stderr + text(result.stdout));
    for (const file of ["curl", "wget", "urllib", "busybox", "literal"]) {
      assert.ok(sameBytes(new Uint8Array(readFileSync(join(out, file))), body), file);
    }
    assert.ok(existsSync(join(out, "clone", ".git")), "git cloned");
    assert.match(text(result.stdout), /^resolved 127\.(19[2-9]|2[0-5]\d)\.\d+\.\d+$/m);
    const records = jsonRecords(result.stderr);
    const byName = records.filter((r) => r.destination === `${NAME}:${webPort}` && r.outcome === "ok");
    assert.ok(byName.length >= 5, `${byName.length} requests by name: ${result.stderr}`);
    assert.ok(records.some((r) => r.destination === `127.0.0.1:${webPort}` && r.addressType === "ipv4"));
    assert.ok(records.every((r) => r.outcome === "ok"), result.stderr);
  });

  it("raw UDP gets nowhere; DNS to any server is answered by tabi; stdin, stdout and the exit code pass through", async () => {
    const seen: number[] = [];
    const udp = await network.bindUdp({ hostname: "0.0.0.0", port: 0 }, (d) => seen.push(d.data.length));
    try {
      const port = udp.address.port;
      const script = [
        `python3 -c '
import socket
for host in ("127.0.0.1", "192.0.2.1", "10.0.0.1"):
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x" * 7, (host, ${port}))
'`,
        `dig +short +tries=1 +time=3 @8.8.8.8 ${NAME} A`,
        "read line",
        'echo "got $line"',
        "exit 7",
      ].join(" && ");
      const result = await tabiRun([], script, "hello\n");
      assert.equal(result.code, 7, result.stderr);
      const out = text(result.stdout);
      assert.match(out, /^127\.(19[2-9]|2[0-5]\d)\.\d+\.\d+$/m, "dig @8.8.8.8 answered by the DNS port");
      assert.match(out, /^got hello$/m);
      assert.deepEqual(seen, [], "no datagram left the namespace");
    } finally {
      udp.close();
    }
  });

  it("with --proxy socks5h://, the name reaches the upstream unresolved (only microsocks can resolve it)", async () => {
    for (const peer of ["microsocks"]) requirePeer(peer);
    const upstreamName = "only-upstream.tabi.test";
    const upstreamHosts = join(dir, "hosts.upstream");
    writeFileSync(upstreamHosts, `127.0.0.1 localhost\n127.0.0.1 ${upstreamName}\n`);
    const port = await closedPort();
    const microsocks = spawn("unshare", [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount --bind "$1" /etc/hosts && exec microsocks -i 127.0.0.1 -p "$2"',
      "sh",
      upstreamHosts,
      String(port),
    ], { stdio: "ignore" });
    try {
      await waitForPort(port, "microsocks");
      const outDir = visibleTmp("tabi-run-via-upstream-");
      visible.push(outDir);
      const out = join(outDir, "page");
      const result = await tabiRun(
        ["--proxy", `socks5h://127.0.0.1:${port}`],
        `curl -sS --max-time 20 -o ${out} http://${upstreamName}:${webPort}/page`,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.ok(sameBytes(new Uint8Array(readFileSync(out)), body));
      assert.deepEqual(
        jsonRecords(result.stderr).map((r) => [r.destination, r.outcome]),
        [[`${upstreamName}:${webPort}`, "ok"]],
      );
    } finally {
      microsocks.kill("SIGTERM");
    }
  });

  for (
    const [label, program] of [
      ["curl", ["curl", "-sS", "--max-time", "20", "{url}"]],
      ["Python's urllib", [
        "python3",
        "-c",
        "import urllib.request,sys; urllib.request.urlopen(sys.argv[1]).read()",
        "{url}",
      ]],
      ["busybox wget", ["busybox", "wget", "-q", "-O", "/dev/null", "{url}"]],
    ] as const
  ) {
    it(`tabi audit finds no leak in ${label} run under tabi run`, async () => {
      const [command, prefix] = cliCommand();
      const result = await run(command, [
        ...prefix,
        "audit",
        "--json",
        "--",
        command,
        ...prefix,
        "run",
        "--proxy",
        "socks5h://{socks}",
        "--",
        ...program,
      ], { timeoutMs: 120_000 });
      const report = JSON.parse(text(result.stdout));
      assert.equal(report.verdict, "no-leak", text(result.stdout) + result.stderr);
      assert.equal(result.code, 0);
    });
  }

  it("SIGTERM reaches the program, its exit code comes back, and nothing stays behind", async () => {
    const [command, prefix] = cliCommand();
    const tag = `tabi-run-signal-${process.pid}`;
    const child = spawn(command, [
      ...prefix,
      "run",
      "--quiet",
      "--",
      "sh",
      "-c",
      `trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.1; done # ${tag}`,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const ready = new Promise<void>((resolve) =>
      child.stdout!.on("data", (chunk: Uint8Array) => {
        out += text(chunk);
        if (out.includes("ready")) resolve();
      })
    );
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    // Bounded too: a program that never starts is a failure, not a hang.
    let started: ReturnType<typeof setTimeout> | undefined;
    const began = await Promise.race([
      ready.then(() => true),
      exited.then(() => false),
      new Promise<false>((resolve) => (started = setTimeout(() => resolve(false), 60_000))),
    ]);
    clearTimeout(started);
    if (!began) child.kill("SIGKILL");
    assert.ok(began, `the program did not start: ${out}`);
    process.kill(child.pid!, "SIGTERM");
    // Bounded: a run that does not end is a failure, and is killed.
    let guard: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([
      exited,
      new Promise<"hung">((resolve) => (guard = setTimeout(() => resolve("hung"), 30_000))),
    ]);
    clearTimeout(guard);
    if (code === "hung") child.kill("SIGKILL");
    assert.equal(code, 42);
    assert.match(out, /got-term/);
    const left = readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(tag);
      } catch {
        return false;
      }
    });
    assert.deepEqual(left, [], "no process of the run is left");
  });

  it("as another user (nobody), through a user namespace", async () => {
    requirePeer("setpriv");
    // Outside the test's own directory, which only root may enter.
    const home = mkdtempSync(join(tmpdir(), "tabi-run-nobody-"));
    await run("chown", ["nobody", home]);
    const [command, prefix] = cliCommand();
    const result = await run("setpriv", [
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      "--",
      "env",
      `HOME=${home}`,
      `TMPDIR=${home}`,
      `DENO_DIR=${join(home, "deno")}`,
      command,
      ...prefix,
      "run",
      "--log",
      "json",
      "--",
      "curl",
      "-sS",
      "--max-time",
      "20",
      `http://localhost:${webPort}/page`,
    ], { timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(sameBytes(result.stdout, body));
    assert.deepEqual(jsonRecords(result.stderr).map((r) => [r.destination, r.outcome]), [[
      `127.0.0.1:${webPort}`,
      "ok",
    ]]);
  });

  it("refuses, without running the program, where it cannot isolate it", async () => {
    const [command, prefix] = cliCommand();
    const marker = join(dir, "ran");
    const result = await run(command, [...prefix, "run", "--", "touch", marker], { env: { PATH: "/nonexistent" } });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /refusing to run touch without isolation/);
    assert.equal(existsSync(marker), false);
  });
});
