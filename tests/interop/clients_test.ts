// Clients nobody here wrote, through a tabi server in this process: curl, ncat, socat, proxychains4, and the npm
// `socks` package for BIND and UDP ASSOCIATE. Each moves a known payload and checks it byte for byte.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import dgram from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { SocksClient } from "socks";
import { echoServer, network, testServer } from "../helpers/net.ts";
import { requirePeer } from "../helpers/peers.ts";
import { run } from "../helpers/process.ts";
import { httpServer, payload, sameBytes } from "../helpers/targets.ts";

type Server = Awaited<ReturnType<typeof testServer>>;
const body = payload(200_000);

describe("interop: curl, ncat, socat, proxychains4 through tabi", () => {
  let open: Server;
  let authed: Server;
  let web4: { port: number; close(): void };
  let web6: { port: number; close(): void };
  let echo4: Awaited<ReturnType<typeof echoServer>>;
  let echo6: Awaited<ReturnType<typeof echoServer>>;
  const proxy = () => `127.0.0.1:${open.endpoint.port}`;
  beforeEach(() => ["curl", "ncat", "socat", "proxychains4"].forEach(requirePeer));
  before(async () => {
    for (const peer of ["curl", "ncat", "socat", "proxychains4"]) requirePeer(peer);
    open = await testServer();
    authed = await testServer({ users: new Map([["alice", "s3cret"]]) });
    web4 = await httpServer("127.0.0.1", body);
    web6 = await httpServer("::1", body);
    echo4 = await echoServer("127.0.0.1");
    echo6 = await echoServer("::1");
  });
  after(async () => {
    web4.close();
    web6.close();
    echo4.close();
    echo6.close();
    await open.close();
    await authed.close();
  });

  const curlCases: [string, string[], () => string][] = [
    ["--socks4 to 127.0.0.1", ["--socks4", "P"], () => `http://127.0.0.1:${web4.port}/`],
    ["--socks4 to localhost (curl resolves)", ["--socks4", "P"], () => `http://localhost:${web4.port}/`],
    ["--socks4a to localhost (tabi resolves)", ["--socks4a", "P"], () => `http://localhost:${web4.port}/`],
    ["--socks5 to 127.0.0.1", ["--socks5", "P"], () => `http://127.0.0.1:${web4.port}/`],
    ["--socks5 to [::1]", ["--socks5", "P"], () => `http://[::1]:${web6.port}/`],
    ["--socks5-hostname to localhost", ["--socks5-hostname", "P"], () => `http://localhost:${web4.port}/`],
    ["--socks5-hostname to [::1]", ["--socks5-hostname", "P"], () => `http://[::1]:${web6.port}/`],
  ];
  for (const [label, flags, url] of curlCases) {
    it(`curl ${label}`, async () => {
      const args = ["-sS", "--max-time", "10", ...flags.map((f) => (f === "P" ? proxy() : f)), url()];
      const result = await run("curl", args);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(sameBytes(result.stdout, body), `got ${result.stdout.length} bytes`);
    });
  }

  it("curl --socks5-hostname with --proxy-user, and socks5h:// with user:pass in the URL", async () => {
    const at = `127.0.0.1:${authed.endpoint.port}`;
    const a = await run("curl", [
      "-sS",
      "--max-time",
      "10",
      "--socks5-hostname",
      at,
      "--proxy-user",
      "alice:s3cret",
      `http://localhost:${web4.port}/`,
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.ok(sameBytes(a.stdout, body));
    const b = await run("curl", [
      "-sS",
      "--max-time",
      "10",
      "--proxy",
      `socks5h://alice:s3cret@${at}`,
      `http://[::1]:${web6.port}/`,
    ]);
    assert.equal(b.code, 0, b.stderr);
    assert.ok(sameBytes(b.stdout, body));
    // A wrong password: curl reports the proxy handshake failure (exit 97) and gets nothing.
    const c = await run("curl", [
      "-sS",
      "--max-time",
      "10",
      "--socks5",
      at,
      "--proxy-user",
      "alice:wrong",
      `http://127.0.0.1:${web4.port}/`,
    ]);
    assert.equal(c.code, 97, c.stderr);
    assert.equal(c.stdout.length, 0);
    // No credentials at all: curl offers no-auth only and is refused.
    const d = await run("curl", ["-sS", "--max-time", "10", "--socks5", at, `http://127.0.0.1:${web4.port}/`]);
    assert.notEqual(d.code, 0);
  });

  for (
    const [type, host, echo] of [["socks4", "127.0.0.1", () => echo4], ["socks5", "127.0.0.1", () => echo4], [
      "socks5",
      "::1",
      () => echo6,
    ]] as const
  ) {
    it(`ncat --proxy-type ${type} to ${host}: echo of the payload`, async () => {
      const result = await run("ncat", ["--proxy", proxy(), "--proxy-type", type, host, String(echo().address.port)], {
        input: body,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(sameBytes(result.stdout, body), `got ${result.stdout.length} bytes`);
    });
  }

  it("socat SOCKS4A: to localhost: echo of the payload", async () => {
    const result = await run("socat", [
      "-",
      `SOCKS4A:127.0.0.1:localhost:${echo4.address.port},socksport=${open.endpoint.port}`,
    ], { input: body });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(sameBytes(result.stdout, body), `got ${result.stdout.length} bytes`);
  });

  for (const type of ["socks4", "socks5"]) {
    it(`proxychains4 (${type}) running curl`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "tabi-proxychains-"));
      const conf = join(dir, "proxychains.conf");
      writeFileSync(
        conf,
        `strict_chain\nquiet_mode\ntcp_read_time_out 5000\ntcp_connect_time_out 5000\n[ProxyList]\n${type} 127.0.0.1 ${open.endpoint.port}\n`,
      );
      const result = await run("proxychains4", [
        "-q",
        "-f",
        conf,
        "curl",
        "-sS",
        "--max-time",
        "10",
        `http://127.0.0.1:${web4.port}/`,
      ]).finally(() => rmSync(dir, { recursive: true, force: true }));
      assert.equal(result.code, 0, result.stderr);
      assert.ok(sameBytes(result.stdout, body), `got ${result.stdout.length} bytes`);
      const record = open.records.find((r) =>
        r.destination === `127.0.0.1:${web4.port}` && r.version === (type === "socks4" ? "4" : "5")
      );
      assert.ok(record, "the connection went through tabi");
    });
  }
});

describe("interop: the npm socks package (BIND and UDP ASSOCIATE)", () => {
  let server: Server;
  before(async () => {
    server = await testServer();
  });
  after(async () => {
    await server.close();
  });

  for (const type of [4, 5] as const) {
    it(`BIND over SOCKS${type}: the peer connects to the bound port and bytes flow both ways`, async () => {
      const client = new SocksClient({
        proxy: { host: "127.0.0.1", port: server.endpoint.port, type },
        command: "bind",
        destination: { host: "0.0.0.0", port: 0 },
        timeout: 10_000,
      });
      const bound = new Promise<{ host: string; port: number }>((resolve) =>
        client.once("bound", (info) => resolve(info.remoteHost!))
      );
      const established = new Promise<import("node:net").Socket>((resolve) =>
        client.once("established", (info) => resolve(info.socket))
      );
      client.once("error", () => {});
      client.connect();
      const where = await bound;
      assert.ok(where.port > 0);
      const peer = await network.connect({ hostname: "127.0.0.1", port: where.port });
      const socket = await established;
      const peerWriter = peer.writable.getWriter();
      const data = payload(50_000, type);
      const received: Uint8Array[] = [];
      let total = 0;
      const got = new Promise<void>((resolve) => {
        socket.on("data", (chunk: Uint8Array) => {
          received.push(new Uint8Array(chunk));
          total += chunk.length;
          if (total >= data.length) resolve();
        });
      });
      await peerWriter.write(data);
      await got;
      const joined = new Uint8Array(total);
      let at = 0;
      for (const c of received) {
        joined.set(c, at);
        at += c.length;
      }
      assert.ok(sameBytes(joined, data));
      socket.write(new Uint8Array([1, 2, 3]));
      const reader = peer.readable.getReader();
      const back = await reader.read();
      assert.deepEqual([...back.value!], [1, 2, 3]);
      socket.destroy();
      peer.close();
    });
  }

  for (const [family, host] of [["udp4", "127.0.0.1"], ["udp6", "::1"]] as const) {
    it(`UDP ASSOCIATE to ${host}: datagrams out and answers back, framed by the socks package`, async () => {
      const echo = dgram.createSocket(family);
      echo.on("message", (message, info) => echo.send(message, info.port, info.address));
      await new Promise<void>((resolve) => echo.bind(0, host, resolve));
      const echoPort = (echo.address() as { port: number }).port;
      const local = dgram.createSocket("udp4");
      await new Promise<void>((resolve) => local.bind(0, "127.0.0.1", resolve));
      // createConnection() does CONNECT only; UDP ASSOCIATE goes through the event API.
      const client = new SocksClient({
        proxy: { host: "127.0.0.1", port: server.endpoint.port, type: 5 },
        command: "associate",
        destination: { host: "127.0.0.1", port: (local.address() as { port: number }).port },
        timeout: 10_000,
      });
      const info = await new Promise<
        { socket: import("node:net").Socket; remoteHost?: { host: string; port: number } }
      >(
        (resolve, reject) => {
          client.once("established", resolve);
          client.once("error", reject);
          client.connect();
        },
      );
      const relay = info.remoteHost!;
      const answers: Uint8Array[] = [];
      const gotAll = new Promise<void>((resolve) => {
        local.on("message", (message: Uint8Array) => {
          const frame = SocksClient.parseUDPFrame(Buffer.from(message));
          answers.push(new Uint8Array(frame.data));
          if (answers.length === 3) resolve();
        });
      });
      const sent = [payload(100, 1), payload(1000, 2), payload(8000, 3)];
      for (const data of sent) {
        const frame = SocksClient.createUDPFrame({ remoteHost: { host, port: echoPort }, data: Buffer.from(data) });
        local.send(frame, relay.port, relay.host);
      }
      await Promise.race([
        gotAll,
        new Promise((_, reject) => setTimeout(() => reject(new Error("UDP answers missing")), 5000)),
      ]);
      const sortBySize = (list: Uint8Array[]) => [...list].sort((a, b) => a.length - b.length);
      sortBySize(answers).forEach((answer, i) => assert.ok(sameBytes(answer, sortBySize(sent)[i])));
      info.socket.destroy();
      local.close();
      echo.close();
    });
  }
});
