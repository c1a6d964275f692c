// tabi's HTTP side against clients nobody here wrote: curl (-x and -p -x, with user:pass@), wget (http_proxy),
// Python urllib (ProxyHandler), git (http.proxy, a dumb-HTTP clone) and headless Chromium (--proxy-server, inside
// a loopback-only network namespace, since a browser makes background requests through any proxy it is given).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, normalize, resolve as resolvePath } from "node:path";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { loopbackOnly, testServer } from "../helpers/net.ts";
import { cliCommand, requireTool, run } from "../helpers/process.ts";
import { httpServer, payload, sameBytes } from "../helpers/targets.ts";

type Server = Awaited<ReturnType<typeof testServer>>;

// The machine's proxy settings must not steer the clients: only the proxy each test names.
const cleanEnv = { no_proxy: "", NO_PROXY: "", http_proxy: "", HTTP_PROXY: "", https_proxy: "", all_proxy: "" };
const body = payload(200_000, 5);

/** Serves the files under `root` (a dumb-HTTP git repository, a page). */
function staticServer(root: string): Promise<{ port: number; close(): void }> {
  const server = http.createServer((request, response) => {
    const path = normalize(join(root, decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname)));
    try {
      if (!path.startsWith(root)) throw new Error("outside");
      const data = readFileSync(path);
      response.writeHead(200, { "content-length": data.length });
      response.end(data);
    } catch {
      response.writeHead(404, { "content-length": 0 });
      response.end();
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as { port: number }).port,
        close: () => {
          server.closeAllConnections?.();
          server.close();
        },
      }))
  );
}

describe("HTTP interop: command-line clients", () => {
  let open: Server;
  let authed: Server;
  let origin: { port: number; close(): void };
  let dir: string;
  before(async () => {
    for (const tool of ["curl", "wget", "python3", "git"]) await requireTool(tool);
    open = await testServer({ network: loopbackOnly() });
    authed = await testServer({ network: loopbackOnly(), users: new Map([["alice", "s3:cr@t"]]) });
    origin = await httpServer("127.0.0.1", body);
    dir = mkdtempSync(join(tmpdir(), "tabi-http-interop-"));
  });
  after(async () => {
    origin?.close();
    await open?.close();
    await authed?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const proxy = (server: Server, auth = "") => `http://${auth}127.0.0.1:${server.endpoint.port}`;
  const target = () => `http://127.0.0.1:${origin.port}/file`;

  for (const tunnel of [false, true]) {
    it(`curl ${tunnel ? "-p " : ""}-x http:// (open, then user:pass@), and 407 without credentials`, async () => {
      const args = (p: string) => ["-sS", "--fail", ...(tunnel ? ["-p"] : []), "-x", p, target()];
      const plain = await run("curl", args(proxy(open)), { env: cleanEnv });
      assert.equal(plain.code, 0, plain.stderr);
      assert.ok(sameBytes(plain.stdout, body));
      const withAuth = await run("curl", args(proxy(authed, "alice:s3%3Acr%40t@")), { env: cleanEnv });
      assert.equal(withAuth.code, 0, withAuth.stderr);
      assert.ok(sameBytes(withAuth.stdout, body));
      const refused = await run("curl", [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        tunnel ? "%{http_connect}" : "%{http_code}",
        ...args(proxy(authed)).slice(2),
      ], {
        env: cleanEnv,
      });
      assert.equal(new TextDecoder().decode(refused.stdout), "407");
      const record = authed.records.findLast((r) => r.user === "alice" && r.reply === 200);
      assert.equal(record?.command, tunnel ? "connect" : "http");
    });
  }

  it("wget with http_proxy (and with credentials in it)", async () => {
    const out = join(dir, "wget.out");
    for (const [server, auth] of [[open, ""], [authed, "alice:s3%3Acr%40t@"]] as const) {
      const result = await run("wget", ["-q", "-O", out, target()], {
        env: { ...cleanEnv, http_proxy: proxy(server, auth) },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(sameBytes(new Uint8Array(readFileSync(out)), body));
    }
    assert.ok(open.records.some((r) => r.method === "GET" && r.destination === `127.0.0.1:${origin.port}`));
  });

  it("Python urllib with ProxyHandler (open, and user:pass@ in the proxy URL)", async () => {
    const script = [
      "import sys, urllib.request, hashlib",
      "opener = urllib.request.build_opener(urllib.request.ProxyHandler({'http': sys.argv[1]}))",
      "data = opener.open(sys.argv[2], timeout=10).read()",
      "sys.stdout.buffer.write(data)",
    ].join("\n");
    for (const p of [proxy(open), proxy(authed, "alice:s3%3Acr%40t@")]) {
      const result = await run("python3", ["-c", script, p, target()], { env: cleanEnv });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(sameBytes(result.stdout, body));
    }
  });

  it("git clone of a dumb-HTTP repository through http.proxy", async () => {
    const work = join(dir, "work");
    const bare = join(dir, "served", "repo.git");
    const git = (args: string[], cwd?: string) =>
      execFileSync("git", args, {
        cwd,
        env: { ...process.env, ...cleanEnv, HOME: dir, GIT_CONFIG_NOSYSTEM: "1" },
        encoding: "utf8",
      });
    git(["init", "-q", "-b", "main", work]);
    writeFileSync(join(work, "hello.txt"), "through tabi\n");
    git(["-c", "user.name=t", "-c", "user.email=t@t", "add", "hello.txt"], work);
    git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one"], work);
    git(["clone", "-q", "--bare", work, bare]);
    git(["update-server-info"], bare);
    const served = await staticServer(resolvePath(join(dir, "served")));
    try {
      const clone = join(dir, "clone");
      const result = await run("git", [
        "-c",
        `http.proxy=${proxy(authed, "alice:s3%3Acr%40t@")}`,
        "clone",
        "-q",
        `http://127.0.0.1:${served.port}/repo.git`,
        clone,
      ], { env: { ...cleanEnv, HOME: dir, GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0" }, timeoutMs: 30_000 });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(readFileSync(join(clone, "hello.txt"), "utf8"), "through tabi\n");
      assert.ok(authed.records.filter((r) => r.destination === `127.0.0.1:${served.port}`).length >= 3);
    } finally {
      served.close();
    }
  });
});

describe("HTTP interop: headless Chromium in a loopback-only network namespace", () => {
  it("--proxy-server=http://... fetches a local page through tabi serve", async () => {
    for (const tool of ["unshare", "ip", "chromium", "python3"]) await requireTool(tool);
    const dir = mkdtempSync(join(tmpdir(), "tabi-chromium-"));
    try {
      writeFileSync(join(dir, "page.html"), "<html><body><p id=m>tabi-page-marker</p></body></html>\n");
      const [command, args] = cliCommand();
      const tabi = [command, ...args].map((a) => `'${a}'`).join(" ");
      // Everything runs inside the namespace: the proxy, the page server and the browser; nothing can leave.
      const script = `
set -e
ip link set lo up
${tabi} serve --listen 127.0.0.1:18080 2> '${dir}/tabi.log' &
TABI=$!
python3 -m http.server 18081 --bind 127.0.0.1 --directory '${dir}' 2> /dev/null &
PAGE=$!
for i in $(seq 1 100); do
  (exec 3<>/dev/tcp/127.0.0.1/18080) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/18081) 2>/dev/null && break
  sleep 0.2
done
timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \\
  --user-data-dir='${dir}/profile' --proxy-server=http://127.0.0.1:18080 --proxy-bypass-list='<-loopback>' \\
  --dump-dom http://127.0.0.1:18081/page.html 2> '${dir}/chromium.log' || true
kill $PAGE $TABI
wait $TABI || true
cat '${dir}/tabi.log'
`;
      const result = await run("unshare", ["--net", "bash", "-c", script], { timeoutMs: 120_000 });
      const out = new TextDecoder().decode(result.stdout);
      assert.match(
        out,
        /tabi-page-marker/,
        `${out}\n${result.stderr}\n${readFileSync(join(dir, "chromium.log"), "utf8").slice(-2000)}`,
      );
      assert.match(out, /version=http method=GET command=http destination=127\.0\.0\.1:18081 .*reply=200/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
