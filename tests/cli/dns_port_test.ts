// `tabi serve --dns`: real clients resolve through the DNS port (dig), connect to the mapped address with SOCKS4,
// SOCKS5 (IPv4 and IPv6) and HTTP, and reach the destination by name; the log shows the name; an upstream gets the
// name unresolved (microsocks, which alone can resolve it: a hosts file only it sees, in its own mount namespace).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { closedPort, sleep, waitForPort } from "../helpers/net.ts";
import { requirePeer } from "../helpers/peers.ts";
import { cliCommand, cliCommandFor, run } from "../helpers/process.ts";
import { startTabiServe, type TabiServe } from "../helpers/tabi_serve.ts";
import { httpServer, payload, sameBytes } from "../helpers/targets.ts";
import { spawn } from "node:child_process";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function jsonRecords(stderr: string): Record<string, unknown>[] {
  return stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

async function records(server: TabiServe, n: number): Promise<Record<string, unknown>[]> {
  for (let i = 0; i < 500 && jsonRecords(server.stderr()).length < n; i++) await sleep(20);
  return jsonRecords(server.stderr());
}

/** The one address dig gets for `name`. */
async function lookup(dnsPort: number, name: string, type: "A" | "AAAA"): Promise<string> {
  const result = await run("dig", ["@127.0.0.1", "-p", String(dnsPort), "+tries=1", "+time=5", "+short", name, type]);
  assert.equal(result.code, 0, result.stderr);
  return text(result.stdout).trim();
}

async function curl(...args: string[]): Promise<{ code: number | null; stdout: Uint8Array; stderr: string }> {
  return await run("curl", ["-sS", "--max-time", "10", ...args]);
}

describe("tabi serve --dns", () => {
  const body = payload(3_000);
  let web: Awaited<ReturnType<typeof httpServer>>;
  let dir: string;
  before(async () => {
    for (const peer of ["curl", "dig"]) requirePeer(peer);
    web = await httpServer("127.0.0.1", body);
    dir = mkdtempSync(join(tmpdir(), "tabi-dns-port-"));
  });
  after(() => {
    web.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("SOCKS4, SOCKS5 (IPv4 and IPv6) and HTTP to mapped addresses reach the name; the log says so", async () => {
    const dnsPort = await closedPort();
    const metricsPort = await closedPort();
    const server = await startTabiServe(runtimeName(), [
      "--listen",
      "127.0.0.1:0",
      "--dns",
      `127.0.0.1:${dnsPort}`,
      "--metrics",
      `127.0.0.1:${metricsPort}`,
      "--safe-socks",
      "--log",
      "json",
    ]);
    try {
      assert.match(server.stderr(), new RegExp(`DNS port on 127\\.0\\.0\\.1:${dnsPort} \\(UDP and TCP\\)`));
      const v4 = await lookup(dnsPort, "localhost", "A");
      const v6 = await lookup(dnsPort, "localhost", "AAAA");
      assert.match(v4, /^127\.(19[2-9]|2[0-5]\d)\./);
      assert.match(v6, /^fd74:6162:6900::/);
      for (
        const args of [
          ["--socks4", server.proxy, `http://${v4}:${web.port}/`],
          ["--socks5", server.proxy, `http://${v4}:${web.port}/`],
          ["--socks5", server.proxy, `http://[${v6}]:${web.port}/`],
          ["-x", `http://${server.proxy}`, `http://${v4}:${web.port}/`],
          ["-p", "-x", `http://${server.proxy}`, `http://[${v6}]:${web.port}/`],
        ]
      ) {
        const result = await curl(...args);
        assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
        assert.ok(sameBytes(result.stdout, body), args.join(" "));
      }
      const logged = await records(server, 5);
      assert.deepEqual(
        logged.map((r) => [r.version ?? r.method, r.command, r.destination, r.addressType, r.safety, r.outcome]),
        [
          ["4", "connect", `localhost:${web.port}`, "mapped-ipv4", "safe", "ok"],
          ["5", "connect", `localhost:${web.port}`, "mapped-ipv4", "safe", "ok"],
          ["5", "connect", `localhost:${web.port}`, "mapped-ipv6", "safe", "ok"],
          ["GET", "http", `localhost:${web.port}`, "mapped-ipv4", undefined, "ok"],
          ["CONNECT", "connect", `localhost:${web.port}`, "mapped-ipv6", undefined, "ok"],
        ],
      );
      // An address in the range that no name has: host unreachable, whatever the protocol.
      const stale = `http://127.192.250.1:${web.port}/`;
      assert.equal((await curl("--socks5", server.proxy, stale)).code, 97);
      assert.equal((await curl("--socks4", server.proxy, stale)).code, 97);
      const http = await curl("-o", "/dev/null", "-w", "%{http_code}", "-x", `http://${server.proxy}`, stale);
      assert.equal(text(http.stdout), "502");
      const refused = (await records(server, 8)).slice(5);
      assert.deepEqual(refused.map((r) => [r.destination, r.addressType, r.outcome, r.reply]), [
        [`127.192.250.1:${web.port}`, "ipv4", "host-unreachable", 4],
        [`127.192.250.1:${web.port}`, "ipv4", "host-unreachable", 91],
        [`127.192.250.1:${web.port}`, "ipv4", "host-unreachable", 502],
      ]);
      // SIGHUP: the map stays; the same address still reaches the name.
      server.kill("SIGHUP");
      for (let i = 0; i < 500 && !/SIGHUP: reloaded/.test(server.stderr()); i++) await sleep(20);
      assert.match(server.stderr(), /SIGHUP: reloaded/);
      assert.equal((await curl("-o", "/dev/null", "--socks5", server.proxy, `http://${v4}:${web.port}/`)).code, 0);
      assert.equal(await lookup(dnsPort, "localhost", "A"), v4, "the same address after the reload");
      const metrics = text((await curl(`http://127.0.0.1:${metricsPort}/metrics`)).stdout);
      assert.match(metrics, /^tabi_dns_questions_total [1-9]\d*$/m);
      assert.match(metrics, /^tabi_dns_mapped_names 1$/m);
      assert.match(metrics, /^tabi_dns_evictions_total 0$/m);
      requirePeer("promtool");
      const lint = await run("promtool", ["check", "metrics"], { input: new TextEncoder().encode(metrics) });
      assert.equal(lint.code, 0, lint.stderr + text(lint.stdout));
    } finally {
      server.kill("SIGTERM");
      await server.exited;
    }
  });

  it("through a socks5h upstream the name arrives unresolved: only microsocks can resolve it", async () => {
    for (const peer of ["microsocks", "unshare", "mount"]) requirePeer(peer);
    const name = "only-upstream.tabi.test";
    const hosts = join(dir, "hosts");
    writeFileSync(hosts, `127.0.0.1 localhost\n127.0.0.1 ${name}\n`);
    const upstreamPort = await closedPort();
    // microsocks in its own mount namespace, where /etc/hosts is the file above; nothing else here sees the name.
    const microsocks = spawn("unshare", [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      `mount --bind "$1" /etc/hosts && exec microsocks -i 127.0.0.1 -p "$2"`,
      "sh",
      hosts,
      String(upstreamPort),
    ], { stdio: "ignore" });
    const dnsPort = await closedPort();
    let server: TabiServe | undefined;
    try {
      await waitForPort(upstreamPort, "microsocks");
      server = await startTabiServe(runtimeName(), [
        "--listen",
        "127.0.0.1:0",
        "--dns",
        `127.0.0.1:${dnsPort}`,
        "--upstream",
        `socks5h://127.0.0.1:${upstreamPort}`,
        "--log",
        "json",
      ]);
      const mapped = await lookup(dnsPort, name, "A");
      for (const proxy of ["--socks4", "--socks5"]) {
        const result = await curl(proxy, server.proxy, `http://${mapped}:${web.port}/`);
        assert.equal(result.code, 0, `${proxy}: ${result.stderr}`);
        assert.ok(sameBytes(result.stdout, body));
      }
      const logged = await records(server, 2);
      assert.deepEqual(logged.map((r) => [r.destination, r.addressType, r.outcome]), [
        [`${name}:${web.port}`, "mapped-ipv4", "ok"],
        [`${name}:${web.port}`, "mapped-ipv4", "ok"],
      ]);
      // The name itself does not resolve on this side: had tabi tried, the request would have failed.
      const here = await run("getent", ["hosts", name]);
      assert.notEqual(here.code, 0);
    } finally {
      server?.kill("SIGTERM");
      await server?.exited;
      microsocks.kill("SIGTERM");
    }
  });

  /**
   * Runs `lines` (shell, joined with &&) as a client in a network namespace where tabi serve's DNS port is the system
   * resolver (127.0.0.1:53: resolv.conf names no port) and its proxy is 127.0.0.1:1080; the origin serves `www` there
   * on 127.0.0.1:8080 under a name only the proxy's hosts file has. Returns the client's output and tabi's log.
   */
  async function inResolverNamespace(
    name: string,
    www: Record<string, Uint8Array | string>,
    lines: (ns: string) => string[],
  ): Promise<{ ns: string; client: string; log: string }> {
    const ns = mkdtempSync(join(dir, "ns-"));
    mkdirSync(join(ns, "www"), { recursive: true });
    for (const [file, content] of Object.entries(www)) writeFileSync(join(ns, "www", file), content);
    writeFileSync(join(ns, "hosts.server"), `127.0.0.1 localhost\n127.0.0.1 ${name}\n`);
    writeFileSync(join(ns, "hosts.client"), "127.0.0.1 localhost\n");
    writeFileSync(join(ns, "resolv.conf"), "nameserver 127.0.0.1\n");
    writeFileSync(join(ns, "client.sh"), lines(ns).join(" &&\n") + "\n");
    const [command, prefix] = cliCommandFor(runtimeName());
    const script = join("tests", "helpers", "dns_port_namespace.sh");
    const result = await run("unshare", [
      "--net",
      "--mount",
      "--propagation",
      "private",
      "sh",
      script,
      ns,
      command,
      ...prefix,
    ], {
      timeoutMs: 150_000,
    });
    const client = readFileSync(join(ns, "client.out"), "utf8");
    const log = readFileSync(join(ns, "tabi.log"), "utf8");
    assert.equal(result.code, 0, `${result.stderr}\n${client}\n${log}`);
    return { ns, client, log };
  }

  it("clients that resolve names themselves (curl --socks4, curl --socks5, PySocks rdns=False), with the DNS port as the system resolver, reach the name", async () => {
    for (const peer of ["curl", "unshare", "mount", "ip", "/usr/lib/python3/dist-packages/socks.py"]) requirePeer(peer);
    const name = "web.tabi.test";
    const { ns, client, log } = await inResolverNamespace(name, { page: body }, (ns) => [
      // Python's gethostbyname: glibc's resolver, which reads resolv.conf (getent ahostsv4 would not even ask here:
      // AI_ADDRCONFIG finds no IPv4 address but loopback in this namespace).
      `/usr/bin/python3 -c 'import socket; print(socket.gethostbyname("${name}"), "from the system resolver")'`,
      `curl -sS --max-time 10 --socks4 127.0.0.1:1080 http://${name}:8080/page -o "${ns}/socks4.out"`,
      `curl -sS --max-time 10 --socks5 127.0.0.1:1080 http://${name}:8080/page -o "${ns}/socks5.out"`,
      `/usr/bin/python3 -c '
import socks
s = socks.socksocket()
s.set_proxy(socks.SOCKS5, "127.0.0.1", 1080, rdns=False)
s.connect(("${name}", 8080))
s.sendall(b"GET /page HTTP/1.0\\r\\n\\r\\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
open("${ns}/pysocks.out", "wb").write(data.split(b"\\r\\n\\r\\n", 1)[1])
'`,
    ]);
    // The client's own lookup got a mapped address: the name never left for a real resolver.
    assert.match(client, /^127\.(19[2-9]|2[0-5]\d)\.\d+\.\d+ /m);
    for (const out of ["socks4.out", "socks5.out", "pysocks.out"]) {
      assert.ok(sameBytes(new Uint8Array(readFileSync(join(ns, out))), body), out);
    }
    const logged = jsonRecords(log);
    assert.deepEqual(
      logged.map((r) => [r.version, r.destination, r.outcome]),
      [["4", `${name}:8080`, "ok"], ["5", `${name}:8080`, "ok"], ["5", `${name}:8080`, "ok"]],
    );
    for (const r of logged) assert.match(String(r.addressType), /^mapped-ipv[46]$/);
  });

  it(
    "the survey's other leaky rows (Chromium SOCKS4, Firefox SOCKS5 remote DNS off, proxychains4 without proxy_dns) reach the name too",
    { timeout: 160_000 },
    async () => {
      for (const peer of ["chromium", "firefox-esr", "proxychains4", "curl", "unshare", "mount", "ip"]) {
        requirePeer(peer);
      }
      const name = "web.tabi.test";
      const marker = "tabi-dns-port-marker";
      const { ns, log } = await inResolverNamespace(
        name,
        { "page.html": `<html><body>${marker}</body></html>\n` },
        (ns) => {
          mkdirSync(join(ns, "firefox"));
          writeFileSync(
            join(ns, "firefox", "user.js"),
            [
              `user_pref("network.proxy.type", 1);`,
              `user_pref("network.proxy.socks", "127.0.0.1");`,
              `user_pref("network.proxy.socks_port", 1080);`,
              `user_pref("network.proxy.socks_version", 5);`,
              `user_pref("network.proxy.socks5_remote_dns", false);`,
              `user_pref("network.proxy.socks_remote_dns", false);`,
            ].join("\n") + "\n",
          );
          writeFileSync(join(ns, "proxychains.conf"), "strict_chain\n[ProxyList]\nsocks5 127.0.0.1 1080\n");
          const url = `http://${name}:8080/page.html`;
          return [
            `HOME=${ns} timeout 90 chromium --headless --no-sandbox --disable-gpu --no-first-run ` +
            `--disable-background-networking --disable-component-update --disable-sync --user-data-dir=${ns}/chromium ` +
            `--proxy-server=socks4://127.0.0.1:1080 --dump-dom ${url} > ${ns}/chromium.out 2>/dev/null`,
            `HOME=${ns} timeout 90 firefox-esr --headless --no-remote --profile ${ns}/firefox --screenshot ${ns}/firefox.png ` +
            `${url} >/dev/null 2>&1`,
            `proxychains4 -q -f ${ns}/proxychains.conf curl -sS --max-time 10 -o ${ns}/proxychains.out ${url}`,
          ];
        },
      );
      assert.match(readFileSync(join(ns, "chromium.out"), "utf8"), new RegExp(marker));
      assert.ok(readFileSync(join(ns, "firefox.png")).length > 1000);
      assert.match(readFileSync(join(ns, "proxychains.out"), "utf8"), new RegExp(marker));
      const logged = jsonRecords(log);
      const page = logged.filter((r) => r.destination === `${name}:8080` && r.outcome === "ok");
      assert.ok(page.some((r) => r.version === "4"), "Chromium's SOCKS4 requests");
      assert.ok(page.filter((r) => r.version === "5").length >= 2, "Firefox's and proxychains4's SOCKS5 requests");
      // Every request, the browsers' background ones too, carried a mapped address: no lookup got a real answer.
      for (const r of logged) assert.match(String(r.addressType), /^mapped-ipv[46]$/, JSON.stringify(r));
    },
  );

  it("refuses --dns on an open address without --allow-open or users, and with --workers", async () => {
    const [command, prefix] = cliCommand();
    const open = await run(command, [...prefix, "serve", "--listen", "127.0.0.1:0", "--dns", "0.0.0.0:0"]);
    assert.equal(open.code, 2, open.stderr);
    assert.match(open.stderr, /--dns: refusing a DNS port on 0\.0\.0\.0:0, which is not loopback/);
    const workers = await run(command, [
      ...prefix,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--dns",
      "127.0.0.1:0",
      "--workers",
      "2",
    ]);
    assert.equal(workers.code, 2, workers.stderr);
    assert.match(workers.stderr, /--dns needs one process/);
  });
});
