// Chromium and Firefox with no proxy configured, under `tabi run`: each loads a page from a name only the exit's
// hosts file knows, and every request they make (background ones included) reaches the exit as a name. The whole test
// runs inside `unshare --net` as every browser test does: the exit itself has only loopback, so nothing leaves.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { requirePeer } from "../helpers/peers.ts";
import { cliCommand, run } from "../helpers/process.ts";
import { visibleTmp } from "../helpers/visible_tmp.ts";

const NAME = "only-outer.tabi.test";
const MARKER = "tabi-run-marker";

function jsonRecords(stderr: string): Record<string, unknown>[] {
  return stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

describe("tabi run: browsers with no proxy setting", () => {
  let dir: string;
  before(() => {
    // Not under /tmp: the browsers' homes are here, and a program under tabi run gets a private /tmp.
    dir = visibleTmp("tabi-run-browsers-");
    mkdirSync(join(dir, "www"));
    writeFileSync(join(dir, "www", "page.html"), `<html><body><p>${MARKER}</p></body></html>\n`);
    writeFileSync(join(dir, "hosts"), `127.0.0.1 localhost\n127.0.0.1 ${NAME}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `tabi run -- BROWSER...` inside a loopback-only namespace with the page served there; its stdout and log. */
  async function runBrowser(name: string, browser: string[]): Promise<{ out: string; log: string }> {
    const [command, prefix] = cliCommand();
    const tabi = [command, ...prefix].map((a) => `'${a}'`).join(" ");
    const home = join(dir, name);
    mkdirSync(join(home, "profile"), { recursive: true });
    const script = `set -e
ip link set lo up
mount --bind '${join(dir, "hosts")}' /etc/hosts
python3 -m http.server 8099 --bind 127.0.0.1 --directory '${join(dir, "www")}' >/dev/null 2>&1 &
web=$!
trap 'kill $web' EXIT
i=0; until curl -s -o /dev/null http://127.0.0.1:8099/page.html; do i=$((i+1)); [ $i -lt 100 ]; sleep 0.1; done
HOME='${home}' ${tabi} run --log json -- ${browser.map((a) => `'${a}'`).join(" ")} >'${home}/out' 2>'${home}/log'
`;
    const result = await run("unshare", ["--net", "--mount", "--propagation", "private", "sh", "-c", script], {
      timeoutMs: 150_000,
    });
    const log = readFileSync(join(home, "log"), "utf8");
    assert.equal(result.code, 0, `${result.stderr}\n${log}`);
    return { out: readFileSync(join(home, "out"), "utf8"), log };
  }

  function checkLog(log: string): void {
    const records = jsonRecords(log);
    assert.ok(records.some((r) => r.destination === `${NAME}:8099` && r.outcome === "ok"), log);
    // Every request, the browser's own background ones too, reached the exit as a name.
    assert.ok(records.every((r) => r.addressType === "domain"), log);
  }

  it("chromium --dump-dom", { timeout: 160_000 }, async () => {
    for (const peer of ["chromium", "unshare", "ip", "mount", "nft", "socat", "curl", "python3"]) requirePeer(peer);
    const home = join(dir, "chromium");
    const { out, log } = await runBrowser("chromium", [
      "chromium",
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      `--user-data-dir=${join(home, "profile")}`,
      "--dump-dom",
      `http://${NAME}:8099/page.html`,
    ]);
    assert.match(out, new RegExp(MARKER));
    checkLog(log);
  });

  it("firefox-esr --screenshot", { timeout: 160_000 }, async () => {
    for (const peer of ["firefox-esr", "unshare", "ip", "mount", "nft", "socat", "curl", "python3"]) requirePeer(peer);
    const home = join(dir, "firefox");
    const { log } = await runBrowser("firefox", [
      "firefox-esr",
      "--headless",
      "--no-remote",
      "--profile",
      join(home, "profile"),
      "--screenshot",
      join(home, "page.png"),
      `http://${NAME}:8099/page.html`,
    ]);
    assert.ok(readFileSync(join(home, "page.png")).length > 1000, "a screenshot of the page");
    checkLog(log);
  });

  for (const browser of ["chromium", "firefox-esr"] as const) {
    it(`tabi audit finds no leak in ${browser} under tabi run`, { timeout: 160_000 }, async () => {
      for (const peer of [browser, "unshare", "ip", "mount", "nft", "socat"]) requirePeer(peer);
      const home = join(dir, `audit-${browser}`);
      mkdirSync(join(home, "profile"), { recursive: true });
      const program = browser === "chromium"
        ? [
          "chromium",
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          `--user-data-dir=${join(home, "profile")}`,
          "--dump-dom",
          "{url}",
        ]
        : [
          "firefox-esr",
          "--headless",
          "--no-remote",
          "--profile",
          join(home, "profile"),
          "--screenshot",
          join(home, "p.png"),
          "{url}",
        ];
      const [command, prefix] = cliCommand();
      // The audit's namespace holds the whole of it: tabi run's exit, and the audit proxy it forwards to.
      const result = await run(command, [
        ...prefix,
        "audit",
        "--json",
        "--timeout",
        "90",
        "--",
        "env",
        `HOME=${home}`,
        command,
        ...prefix,
        "run",
        "--proxy",
        "socks5h://{socks}",
        "--",
        ...program,
      ], { timeoutMs: 150_000 });
      const report = JSON.parse(new TextDecoder().decode(result.stdout));
      assert.equal(report.verdict, "no-leak", JSON.stringify(report));
      assert.ok(
        report.requests.some((r: { outcome: string }) => r.outcome === "page"),
        JSON.stringify(report.requests),
      );
      assert.ok(report.requests.every((r: { addressType: string }) => r.addressType === "domain"));
    });
  }
});
