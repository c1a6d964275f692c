// tabi's client against servers nobody here wrote: microsocks, Dante and OpenSSH's dynamic forwarding, and
// `tabi connect` as ssh's ProxyCommand. Each moves a known payload byte for byte.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { associate, bind, connect, type Tunnel } from "../../mod.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { closedPort, echoServer, network, waitForPort } from "../helpers/net.ts";
import { concat } from "../helpers/bytes.ts";
import { requirePeer } from "../helpers/peers.ts";
import { cliCommand, currentUser, type Daemon, daemon, run } from "../helpers/process.ts";
import { payload, sameBytes } from "../helpers/targets.ts";
import { type Dante, startDante } from "../helpers/dante.ts";

/**
 * Sends `data`, half-closes, and returns everything the echo sent back. With `halfClose: false` it reads back
 * `data.length` bytes before closing: microsocks ends both directions at the first FIN, so a half-close would
 * cut its echo short.
 */
async function echoThrough(tunnel: Tunnel, data: Uint8Array, halfClose = true): Promise<Uint8Array> {
  const writer = tunnel.writable.getWriter();
  const sending = writer.write(data).then(() => (halfClose ? writer.close() : undefined));
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of tunnel.readable) {
    parts.push(chunk.slice());
    total += chunk.length;
    if (!halfClose && total >= data.length) break;
  }
  await sending;
  tunnel.close();
  return concat(...parts);
}

/** A resolver that fails the test if called: nothing may be looked up locally. */
const noLookups = { resolve: (name: string): Promise<string[]> => assert.fail(`local DNS lookup of ${name}`) };

const data = payload(300_000, 7);

describe("client interop: microsocks", () => {
  let open: Daemon;
  let authed: Daemon;
  let openPort: number;
  let authPort: number;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  beforeEach(() => void requirePeer("microsocks"));
  before(async () => {
    requirePeer("microsocks");
    echo = await echoServer();
    openPort = await closedPort();
    authPort = await closedPort();
    open = daemon("microsocks", ["-i", "127.0.0.1", "-p", String(openPort)]);
    authed = daemon("microsocks", ["-i", "127.0.0.1", "-p", String(authPort), "-u", "mike", "-P", "r0ck"]);
    await waitForPort(openPort, "microsocks");
    await waitForPort(authPort, "microsocks -u");
  });
  after(async () => {
    await open?.stop();
    await authed?.stop();
    await echo?.close();
  });
  it("CONNECT without authentication, to an address and to a name", async () => {
    const direct = await connect(`socks5://127.0.0.1:${openPort}`, `127.0.0.1:${echo.address.port}`);
    assert.ok(sameBytes(await echoThrough(direct, data, false), data));
    const named = await connect(`socks5h://127.0.0.1:${openPort}`, `localhost:${echo.address.port}`, noLookups);
    assert.ok(sameBytes(await echoThrough(named, data, false), data));
  });
  it("CONNECT with username/password; a wrong password is refused", async () => {
    const tunnel = await connect(
      `socks5h://mike:r0ck@127.0.0.1:${authPort}`,
      `localhost:${echo.address.port}`,
      noLookups,
    );
    assert.ok(sameBytes(await echoThrough(tunnel, data, false), data));
    await assert.rejects(
      connect(`socks5h://mike:nope@127.0.0.1:${authPort}`, `localhost:${echo.address.port}`),
      (e) => e instanceof SocksError && e.code === "auth-failed",
    );
  });
});

describe("client interop: Dante", () => {
  let dante: Dante;
  let port: number;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  beforeEach(() => void requirePeer("danted"));
  before(async () => {
    requirePeer("danted");
    echo = await echoServer();
    dante = await startDante({
      rules: [
        "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: bind connect udpassociate }",
        "socks pass { from: 0.0.0.0/0 to: 127.0.0.0/8 command: bindreply udpreply }",
      ],
    });
    port = dante.port;
  });
  after(async () => {
    await dante?.stop();
    await echo?.close();
  });
  it("SOCKS4 CONNECT", async () => {
    const tunnel = await connect(`socks4://127.0.0.1:${port}`, `127.0.0.1:${echo.address.port}`, noLookups);
    assert.ok(sameBytes(await echoThrough(tunnel, data), data));
  });
  it("SOCKS5 CONNECT, to an address and to a name", async () => {
    assert.ok(
      sameBytes(
        await echoThrough(await connect(`socks5://127.0.0.1:${port}`, `127.0.0.1:${echo.address.port}`), data),
        data,
      ),
    );
    const named = await connect(`socks5h://127.0.0.1:${port}`, `localhost:${echo.address.port}`, noLookups);
    assert.ok(sameBytes(await echoThrough(named, data), data));
  });
  for (const scheme of ["socks4", "socks5"]) {
    it(`BIND over ${scheme}`, async () => {
      const binding = await bind(`${scheme}://127.0.0.1:${port}`, "127.0.0.1:0");
      const peer = await network.connect({ hostname: binding.bound.address.host, port: binding.bound.port });
      const tunnel = await binding.accepted;
      assert.equal(tunnel.bound.port, peer.localAddress.port);
      const writer = peer.writable.getWriter();
      await writer.write(data);
      await writer.close();
      const got: number[] = [];
      for await (const chunk of tunnel.readable) for (const b of chunk) got.push(b);
      assert.ok(sameBytes(new Uint8Array(got), data));
      tunnel.close();
      peer.close();
    });
  }
  it("UDP ASSOCIATE", async () => {
    const udpEcho = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, (d) => void udpEcho.send(d.data, d.from));
    const association = await associate(`socks5://127.0.0.1:${port}`);
    try {
      const reader = association.datagrams.getReader();
      for (const size of [1, 512, 8000]) {
        const sent = payload(size, size);
        await association.send(sent, `127.0.0.1:${udpEcho.address.port}`);
        const answer = await reader.read();
        assert.ok(sameBytes(answer.value!.data, sent), `datagram of ${size}`);
        assert.equal(answer.value!.from.port, udpEcho.address.port);
      }
    } finally {
      association.close();
      udpEcho.close();
    }
  });
});

describe("client interop: OpenSSH", () => {
  let sshd: Daemon;
  let forward: Daemon;
  let microsocks: Daemon;
  let dir: string;
  let sshPort: number;
  let dynamicPort: number;
  let microsocksPort: number;
  let echo4: Awaited<ReturnType<typeof echoServer>>;
  let echo6: Awaited<ReturnType<typeof echoServer>>;
  const user = currentUser();
  const sshOptions = (key: string) => [
    "-i",
    key,
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
  ];
  beforeEach(() => ["sshd", "ssh", "ssh-keygen", "microsocks"].forEach(requirePeer));
  before(async () => {
    for (const peer of ["sshd", "ssh", "ssh-keygen", "microsocks"]) requirePeer(peer);
    echo4 = await echoServer();
    echo6 = await echoServer("::1");
    dir = mkdtempSync(join(tmpdir(), "tabi-ssh-"));
    for (const name of ["host_key", "client_key"]) {
      const made = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, name)]);
      assert.equal(made.code, 0, made.stderr);
    }
    writeFileSync(join(dir, "authorized_keys"), await readText(join(dir, "client_key.pub")));
    sshPort = await closedPort();
    writeFileSync(
      join(dir, "sshd_config"),
      [
        `Port ${sshPort}`,
        "ListenAddress 127.0.0.1",
        "ListenAddress ::1",
        `HostKey ${join(dir, "host_key")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "AllowTcpForwarding yes",
        "",
      ].join("\n"),
    );
    mkdirSync("/run/sshd", { recursive: true });
    sshd = daemon("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")]);
    await waitForPort(sshPort, "sshd");
    dynamicPort = await closedPort();
    forward = daemon("ssh", [
      "-N",
      "-D",
      `127.0.0.1:${dynamicPort}`,
      ...sshOptions(join(dir, "client_key")),
      "-p",
      String(sshPort),
      `${user}@127.0.0.1`,
    ]);
    await waitForPort(dynamicPort, `ssh -D (${forward.output()} / ${sshd.output()})`);
    microsocksPort = await closedPort();
    microsocks = daemon("microsocks", ["-i", "127.0.0.1", "-p", String(microsocksPort)]);
    await waitForPort(microsocksPort, "microsocks");
  });
  after(async () => {
    await forward?.stop();
    await microsocks?.stop();
    await sshd?.stop();
    await echo4?.close();
    await echo6?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  it("ssh -D: CONNECT to a name and to [::1]", async () => {
    const proxy = `socks5h://127.0.0.1:${dynamicPort}`;
    assert.ok(
      sameBytes(await echoThrough(await connect(proxy, `localhost:${echo4.address.port}`, noLookups), data), data),
    );
    assert.ok(sameBytes(await echoThrough(await connect(proxy, `[::1]:${echo6.address.port}`, noLookups), data), data));
  });
  it("tabi connect as ssh's ProxyCommand, through microsocks to sshd", async () => {
    const [command, prefix] = cliCommand();
    const main = resolvePath("cli", "main.ts");
    const args = [...prefix.slice(0, -1), main].map((a) => `'${a}'`).join(" ");
    const proxyCommand = `'${command}' ${args} connect --proxy socks5h://127.0.0.1:${microsocksPort} %h %p`;
    const result = await run("ssh", [
      ...sshOptions(join(dir, "client_key")),
      "-o",
      `ProxyCommand=${proxyCommand}`,
      "-p",
      String(sshPort),
      `${user}@localhost`,
      "echo",
      "through-tabi",
    ], { timeoutMs: 30_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(new TextDecoder().decode(result.stdout).trim(), "through-tabi");
  });
});

/** Reads a text file (node:fs, in every runtime). */
async function readText(path: string): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return await readFile(path, "utf8");
}
