// tabi serving SOCKS and HTTP in front of upstream proxies nobody here wrote: microsocks (with a password), Dante
// and OpenSSH's `ssh -D`. Clients are curl (HTTP proxy and SOCKS5) and tabi's own client; names go to the
// upstream unresolved (the front server's network fails the test on any lookup).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { associate } from "../../lib/client/associate.ts";
import { connect } from "../../lib/client/connect.ts";
import type { Network, UdpSocket } from "../../lib/net/network.ts";
import { closedPort, loopbackOnly, network, rawClient, sleep, testServer, waitForPort } from "../helpers/net.ts";
import { concat } from "../helpers/bytes.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { currentUser, type Daemon, daemon, requireTool, run } from "../helpers/process.ts";
import { httpServer, payload, sameBytes } from "../helpers/targets.ts";
import { startDante } from "../helpers/dante.ts";

const cleanEnv = { no_proxy: "", NO_PROXY: "", http_proxy: "", HTTP_PROXY: "", all_proxy: "", ALL_PROXY: "" };
const body = payload(300_000, 9);

/** The loopback test network, with lookups refused: a name must reach the upstream as a name. */
const noLookups = (): Network => ({
  ...loopbackOnly(),
  resolve: (name) => Promise.reject(new Error(`local DNS lookup of ${name}`)),
});

/** curl through tabi (HTTP proxy, tunnel, SOCKS5 with names) to `url`; each must bring back `body` whole. */
async function curlEveryWay(proxyPort: number, url: string): Promise<void> {
  for (
    const args of [
      ["-x", `http://127.0.0.1:${proxyPort}`],
      ["-p", "-x", `http://127.0.0.1:${proxyPort}`],
      ["--socks5-hostname", `127.0.0.1:${proxyPort}`],
    ]
  ) {
    const result = await run("curl", ["-sS", "--fail", ...args, url], { env: cleanEnv });
    assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    assert.ok(sameBytes(result.stdout, body), args.join(" "));
  }
}

describe("upstream interop", () => {
  let origin: { port: number; close(): void };
  let dir: string;
  const daemons: Daemon[] = [];
  before(async () => {
    for (const tool of ["curl", "microsocks", "danted", "sshd", "ssh", "ssh-keygen"]) await requireTool(tool);
    origin = await httpServer("127.0.0.1", body);
    dir = mkdtempSync(join(tmpdir(), "tabi-upstream-"));
  });
  after(async () => {
    // Last started first: sshd's session child holds its output open until ssh -D has gone.
    for (const d of daemons.reverse()) await d.stop();
    origin?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("microsocks with a password (socks5h://mike:r0ck@): HTTP, CONNECT and SOCKS5 through it by name", async () => {
    const port = await closedPort();
    daemons.push(daemon("microsocks", ["-i", "127.0.0.1", "-p", String(port), "-u", "mike", "-P", "r0ck"]));
    await waitForPort(port, "microsocks");
    const server = await testServer({ network: noLookups(), upstream: [`socks5h://mike:r0ck@127.0.0.1:${port}`] });
    try {
      await curlEveryWay(server.endpoint.port, `http://localhost:${origin.port}/`);
      const wrong = await testServer({ network: noLookups(), upstream: [`socks5h://mike:nope@127.0.0.1:${port}`] });
      const refused = await run("curl", [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-x",
        `http://127.0.0.1:${wrong.endpoint.port}`,
        `http://localhost:${origin.port}/`,
      ], { env: cleanEnv });
      assert.equal(new TextDecoder().decode(refused.stdout), "502");
      await wrong.close();
    } finally {
      await server.close();
    }
  });

  it("Dante: socks5h:// by name, socks4:// with the name resolved by tabi, BIND and UDP through it", async () => {
    const dante = await startDante({
      rules: [
        "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: bind connect }",
        // Logged, so the test can see that the datagrams went through Dante.
        "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0\n  command: udpassociate\n  log: connect\n}",
        "socks pass { from: 0.0.0.0/0 to: 127.0.0.0/8 command: bindreply udpreply }",
      ],
    });
    daemons.push(dante);
    const port = dante.port;
    const byName = await testServer({ network: noLookups(), upstream: [`socks5h://127.0.0.1:${port}`] });
    const socks4 = await testServer({ network: loopbackOnly(), upstream: [`socks4://127.0.0.1:${port}`] });
    try {
      await curlEveryWay(byName.endpoint.port, `http://localhost:${origin.port}/`);
      await curlEveryWay(socks4.endpoint.port, `http://localhost:${origin.port}/`);
      // BIND goes through a single SOCKS5 upstream: Dante listens, the front server passes both replies on.
      const client = await rawClient(byName.endpoint);
      await client.send(concat(
        encodeSocks5Greeting({ methods: [0] }),
        encodeSocks5Request({ command: 2, destination: { address: { type: "ipv4", host: "127.0.0.1" }, port: 0 } }),
      ));
      await client.reader.read(decodeSocks5MethodSelection);
      const first = await client.reader.read(decodeSocks5Reply);
      assert.equal(first.reply, 0);
      const peer = await network.connect({ hostname: "127.0.0.1", port: first.bound.port });
      const second = await client.reader.read(decodeSocks5Reply);
      assert.equal(second.reply, 0);
      await peer.writable.getWriter().write(new TextEncoder().encode("via dante"));
      assert.equal(new TextDecoder().decode(await client.reader.readExactly(9)), "via dante");
      client.close();
      peer.close();
      // UDP ASSOCIATE goes through it too: tabi's relay for the client, Dante's beyond; the name stays a name.
      const udpEcho: UdpSocket = await network.bindUdp(
        { hostname: "127.0.0.1", port: 0 },
        (d) => void udpEcho.send(d.data, d.from),
      );
      const association = await associate(`socks5h://127.0.0.1:${byName.endpoint.port}`, { network });
      try {
        const datagrams = association.datagrams.getReader();
        for (const [i, host] of ["127.0.0.1", "localhost"].entries()) {
          const sent = payload(700 + i, i + 1);
          await association.send(sent, `${host}:${udpEcho.address.port}`);
          const answer = await datagrams.read();
          assert.ok(answer.value && sameBytes(answer.value.data, sent), `datagram to ${host}`);
          assert.deepEqual(answer.value.from, {
            address: { type: "ipv4", host: "127.0.0.1" },
            port: udpEcho.address.port,
          });
        }
        // Dante logged the association (its stderr may lag behind the datagrams a moment).
        for (let i = 0; i < 100 && !dante.output().includes("udp/udpassociate"); i++) await sleep(50);
        assert.match(dante.output(), /udp\/udpassociate/);
      } finally {
        association.close();
        udpEcho.close();
      }
    } finally {
      await byName.close();
      await socks4.close();
    }
  });

  it("ssh -D as the second hop, behind tabi's own HTTP side as the first (http -> socks5h)", async () => {
    for (const name of ["host_key", "client_key"]) {
      const made = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, name)]);
      assert.equal(made.code, 0, made.stderr);
    }
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
    const sshPort = await closedPort();
    writeFileSync(
      join(dir, "sshd_config"),
      [
        `Port ${sshPort}`,
        "ListenAddress 127.0.0.1",
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
    daemons.push(daemon("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")]));
    await waitForPort(sshPort, "sshd");
    const dynamicPort = await closedPort();
    const forward = daemon("ssh", [
      "-N",
      "-D",
      `127.0.0.1:${dynamicPort}`,
      "-i",
      join(dir, "client_key"),
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "LogLevel=ERROR",
      "-p",
      String(sshPort),
      `${currentUser()}@127.0.0.1`,
    ]);
    daemons.push(forward);
    await waitForPort(dynamicPort, `ssh -D (${forward.output()})`);
    const middle = await testServer({ network: loopbackOnly(), protocols: ["http"] });
    const server = await testServer({
      network: noLookups(),
      upstream: [`http://127.0.0.1:${middle.endpoint.port}`, `socks5h://127.0.0.1:${dynamicPort}`],
    });
    try {
      await curlEveryWay(server.endpoint.port, `http://localhost:${origin.port}/`);
      // tabi's client, through the same front server, by name.
      const tunnel = await connect(`socks5h://127.0.0.1:${server.endpoint.port}`, `localhost:${origin.port}`, {
        network: loopbackOnly(),
      });
      const writer = tunnel.writable.getWriter();
      await writer.write(new TextEncoder().encode(`GET / HTTP/1.0\r\nHost: localhost\r\n\r\n`));
      let total = 0;
      for await (const chunk of tunnel.readable) total += chunk.length;
      assert.ok(total > body.length);
      assert.ok(middle.records.every((r) => r.command === "connect" && r.destination === `127.0.0.1:${dynamicPort}`));
    } finally {
      await server.close();
      await middle.close();
    }
  });
});
