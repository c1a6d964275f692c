/**
 * socksWebSocket against python3-websockets' echo server (websocket_echo.py), through `tabi serve`, microsocks,
 * Dante and a chain of two (socks5h then socks4a), in whichever runtime runs this file: text and binary messages up
 * to 1 MiB, 50 connections at once, close codes both ways, subprotocols, wss with a throwaway CA, the name in the
 * proxy's log, the dns-leak refusal and a refusal by the proxy as an error event plus a close naming the code.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSocksFetch, runtimeName, type SocksWebSocket, socksWebSocket } from "../../../mod.ts";
import { closedPort, sleep, waitForPort } from "../../helpers/net.ts";
import { daemon, requireTool } from "../../helpers/process.ts";
import { startDante } from "../../helpers/dante.ts";
import { startTabiServe, type TabiServe } from "../../helpers/tabi_serve.ts";
import { makePki, type TestPki } from "../fetch_fixtures.ts";
import { closed, type EchoServer, nextMessage, opened, pattern, startEchoServer } from "./websocket_fixtures.ts";

const SIZES = [0, 1, 125, 126, 65_535, 65_536, 1024 * 1024] as const;

async function echoRoundTrips(proxy: string | string[], port: number): Promise<void> {
  const ws = socksWebSocket(`ws://localhost:${port}/echo`, { proxy });
  ws.binaryType = "arraybuffer";
  await opened(ws);
  for (const size of SIZES) {
    const text = "ä".repeat(size >> 1);
    ws.send(text);
    assert.equal(await nextMessage(ws), text, `text of ${size >> 1} characters`);
    const bytes = pattern(size);
    ws.send(bytes);
    const back = await nextMessage(ws);
    assert.ok(back instanceof ArrayBuffer, `binary of ${size} bytes arrives as an ArrayBuffer`);
    assert.deepEqual(new Uint8Array(back), bytes, `binary of ${size} bytes`);
  }
  const done = closed(ws);
  ws.close(1000, "done");
  const event = await done;
  assert.equal(event.code, 1000);
  assert.equal(event.wasClean, true);
  assert.equal(event.error, false);
}

/** The suite every proxy runs: `setup` starts the proxy and says how to reach it and how its log names a target. */
function proxySuite(
  name: string,
  setup: () => Promise<{ proxy: string | string[]; logShowsName(port: number): boolean; close(): Promise<void> }>,
): void {
  describe(`socksWebSocket through ${name}`, () => {
    let echo: EchoServer;
    let proxy: Awaited<ReturnType<typeof setup>>;
    before(async () => {
      echo = await startEchoServer();
      proxy = await setup();
    });
    after(async () => {
      await proxy?.close();
      await echo?.close();
    });

    it("echoes text and binary messages from 0 bytes to 1 MiB, then closes cleanly; the proxy got the name", async () => {
      await echoRoundTrips(proxy.proxy, echo.port);
      // The proxy logs a connection when it ends, a moment after the close event.
      for (let i = 0; i < 100 && !proxy.logShowsName(echo.port); i++) await sleep(50);
      assert.ok(proxy.logShowsName(echo.port), `the proxy's log names localhost:${echo.port}`);
    });

    it("answers the server's ping and joins fragmented text and binary messages", async () => {
      const ws = socksWebSocket(`ws://localhost:${echo.port}/fragments`, { proxy: proxy.proxy });
      ws.binaryType = "arraybuffer";
      const messages: unknown[] = [];
      ws.onmessage = (event) => messages.push(event.data);
      await opened(ws);
      for (let i = 0; i < 200 && messages.length < 3; i++) await sleep(25);
      assert.equal(messages[0], "pong");
      assert.equal(messages[1], "fragmented message");
      assert.deepEqual(
        new Uint8Array(messages[2] as ArrayBuffer),
        Uint8Array.from({ length: 300 }, (_, i) => i & 0xff),
      );
      const done = closed(ws);
      ws.close();
      assert.equal((await done).wasClean, true);
    });

    it("reports the server's close code and reason, and a Blob for binary by default", async () => {
      const ws = socksWebSocket(`ws://localhost:${echo.port}/close/4001`, { proxy: proxy.proxy });
      const event = await closed(ws);
      assert.deepEqual(event, { code: 4001, reason: "bye 4001", wasClean: true, error: false });
      const blobs = socksWebSocket(`ws://localhost:${echo.port}/echo`, { proxy: proxy.proxy });
      await opened(blobs);
      blobs.send(new Blob([pattern(300)]));
      const back = await nextMessage(blobs);
      assert.ok(back instanceof Blob);
      assert.deepEqual(new Uint8Array(await back.arrayBuffer()), pattern(300));
      const done = closed(blobs);
      blobs.close(4321, "mine");
      assert.equal((await done).code, 4321);
    });
  });
}

proxySuite("tabi serve", async () => {
  const server = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0"]);
  return {
    proxy: `socks5h://${server.proxy}`,
    logShowsName: (port) => server.stderr().includes(`localhost:${port}`),
    close: () => stopServe(server),
  };
});

proxySuite("microsocks", async () => {
  await requireTool("microsocks");
  const port = await closedPort();
  const microsocks = daemon("microsocks", ["-i", "127.0.0.1", "-p", String(port)]);
  await waitForPort(port, "microsocks");
  return {
    proxy: `socks5h://127.0.0.1:${port}`,
    logShowsName: (target) => microsocks.output().includes(`connected to localhost:${target}`),
    close: () => microsocks.stop(),
  };
});

proxySuite("Dante", async () => {
  // Debug level: Dante logs a request's destination as its packet carried it (ATYP 3: a name).
  const dante = await startDante({
    debug: true,
    ipv6: true,
    rules: [
      "socks pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  command: connect\n  log: connect disconnect\n}",
      "socks pass {\n  from: 127.0.0.0/8 to: ::/0\n  command: connect\n  log: connect disconnect\n}",
    ],
  });
  const port = dante.port;
  return {
    proxy: `socks5h://127.0.0.1:${port}`,
    logShowsName: (target) => dante.output().includes(`ATYP: 3 address: localhost.${target} `),
    close: () => dante.stop(),
  };
});

proxySuite("a chain: microsocks (socks5h), then tabi serve (socks4a)", async () => {
  await requireTool("microsocks");
  const port = await closedPort();
  const microsocks = daemon("microsocks", ["-i", "127.0.0.1", "-p", String(port)]);
  await waitForPort(port, "microsocks");
  const server = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0"]);
  return {
    proxy: [`socks5h://127.0.0.1:${port}`, `socks4a://${server.proxy}`],
    // The last hop gets the name; microsocks only ever sees tabi's address.
    logShowsName: (target) => server.stderr().includes(`localhost:${target}`),
    async close() {
      await stopServe(server);
      await microsocks.stop();
    },
  };
});

async function stopServe(server: TabiServe): Promise<void> {
  server.kill("SIGTERM");
  await server.exited;
}

describe("socksWebSocket, more", () => {
  let echo: EchoServer;
  let tls: EchoServer;
  let pki: TestPki;
  let server: TabiServe;
  before(async () => {
    pki = makePki();
    echo = await startEchoServer();
    tls = await startEchoServer(pki);
    server = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--quiet"]);
  });
  after(async () => {
    if (server !== undefined) await stopServe(server);
    await echo?.close();
    await tls?.close();
  });

  it("50 connections at once, each echoing its own 64 KiB message, on one createSocksFetch object", async () => {
    const fetch = createSocksFetch({ proxy: `socks5h://${server.proxy}` });
    try {
      const sockets: SocksWebSocket[] = [];
      await Promise.all(Array.from({ length: 50 }, async (_, i) => {
        const ws = fetch.webSocket(`ws://localhost:${echo.port}/echo`);
        sockets.push(ws);
        ws.binaryType = "arraybuffer";
        await opened(ws);
        const bytes = pattern(64 * 1024, i);
        ws.send(bytes);
        assert.deepEqual(new Uint8Array(await nextMessage(ws) as ArrayBuffer), bytes);
        const done = closed(ws);
        ws.close();
        assert.equal((await done).wasClean, true);
      }));
      assert.equal(sockets.length, 50);
    } finally {
      await fetch.close();
    }
  });

  it("wss through the proxy, trusting a throwaway CA, certificate checked against the name; refused without it", async () => {
    const ws = socksWebSocket(`wss://localhost:${tls.port}/echo`, {
      proxy: `socks5h://${server.proxy}`,
      ca: pki.caPem,
    });
    await opened(ws);
    ws.send("over TLS");
    assert.equal(await nextMessage(ws), "over TLS");
    const done = closed(ws);
    ws.close();
    assert.equal((await done).code, 1005);
    const untrusted = socksWebSocket(`wss://localhost:${tls.port}/echo`, { proxy: `socks5h://${server.proxy}` });
    const refused = await closed(untrusted);
    assert.equal(refused.code, 1006);
    assert.equal(refused.error, true);
  });

  it("offers subprotocols and reports the one chosen", async () => {
    const ws = socksWebSocket(`ws://localhost:${echo.port}/protocol`, {
      proxy: `socks5h://${server.proxy}`,
      protocols: ["chat", "other"],
    });
    await opened(ws);
    assert.equal(ws.protocol, "chat");
    assert.equal(await nextMessage(ws), "chat");
    ws.close();
  });

  it("socks5:// with a name: an error event, then a close whose reason starts with dns-leak", async () => {
    const ws = socksWebSocket(`ws://localhost:${echo.port}/echo`, { proxy: `socks5://${server.proxy}` });
    const event = await closed(ws);
    assert.equal(event.code, 1006);
    assert.equal(event.error, true);
    assert.match(event.reason, /^dns-leak: /);
    assert.equal(ws.readyState, 3);
  });

  it("a proxy that refuses the destination: an error event, then a close whose reason names the SocksError code", async () => {
    const port = await closedPort();
    const ws = socksWebSocket(`ws://127.0.0.1:${port}/echo`, { proxy: `socks5h://${server.proxy}` });
    const event = await closed(ws);
    assert.equal(event.code, 1006);
    assert.equal(event.error, true);
    assert.match(event.reason, /^connection-refused: /);
  });
});
