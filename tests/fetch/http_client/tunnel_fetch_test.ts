/**
 * tabi's HTTP/1.1 client over tunnels (lib/fetch/http_client), driven directly through tabi's SOCKS server: response
 * framing (length, chunked with trailers, close-delimited, HEAD, 204, 304, 1xx), redirects with fetch's method and
 * body rules, AbortSignal at connect, head and body, TLS checked against the target's name (the stream TLS client,
 * and a connection's in-place `startTls` through `Tunnel.startTls`), and failures as fetch reports them.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { connect } from "../../../lib/client/connect.ts";
import type { Connection, Network, StartTlsOptions } from "../../../lib/net/network.ts";
import { tunnelFetch, type TunnelFetchSettings } from "../../../lib/fetch/http_client/tunnel_fetch.ts";
import { socksCause } from "../../../lib/fetch/socks_fetch.ts";
import { startStreamTls } from "../../../lib/runtime/shared/stream_tls.ts";
import { network, testServer } from "../../helpers/net.ts";
import { eventually, makePki, type Origin, startTlsOrigin, type TestPki } from "../fetch_fixtures.ts";

const encoder = new TextEncoder();

/** A server on 127.0.0.1 that answers each request head with canned bytes chosen by its path. */
interface RawOrigin {
  readonly port: number;
  /** Connections open on it now. */
  open(): number;
  close(): Promise<void>;
}

function rawOrigin(answers: Record<string, { bytes: Uint8Array | string; end?: boolean }>): Promise<RawOrigin> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let head = "";
    socket.on("data", (data) => {
      if (head.includes("\r\n\r\n")) return;
      head += new TextDecoder("latin1").decode(data);
      if (!head.includes("\r\n\r\n")) return;
      const path = head.split(" ")[1];
      const answer = answers[path];
      if (answer === undefined) return void socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      socket.write(typeof answer.bytes === "string" ? encoder.encode(answer.bytes) : answer.bytes);
      if (answer.end) socket.end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        open: () => sockets.size,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** What the echo origin saw of a request. */
interface Seen {
  method: string;
  url: string;
  length: number;
  contentType: string | null;
  authorization: string | null;
}

/** A node:http origin: `/echo` answers what it saw as JSON, `/rNNN` redirects with NNN to `/echo`, `/loop` to itself. */
function echoOrigin(): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const url = request.url ?? "/";
    let length = 0;
    request.on("data", (chunk: Uint8Array) => (length += chunk.length));
    request.on("end", () => {
      const redirect = /^\/r(30[1-8])$/.exec(url);
      if (redirect) {
        response.writeHead(Number(redirect[1]), { location: "/echo" }).end();
      } else if (url === "/loop") {
        response.writeHead(302, { location: "/loop" }).end();
      } else if (url.startsWith("/cross")) {
        const port = (server.address() as net.AddressInfo).port;
        response.writeHead(302, { location: `http://127.0.0.1:${port}/echo` }).end();
      } else {
        const seen: Seen = {
          method: request.method ?? "",
          url,
          length,
          contentType: request.headers["content-type"] ?? null,
          authorization: request.headers.authorization ?? null,
        };
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(seen));
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

function body(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(encoder.encode(text));
      controller.close();
    },
  });
}

describe("tunnelFetch: HTTP/1.1 over a SOCKS tunnel", () => {
  let server: Awaited<ReturnType<typeof testServer>>;
  let raw: RawOrigin;
  let echo: Awaited<ReturnType<typeof echoOrigin>>;
  let pki: TestPki;
  let tlsOrigin: Origin;
  let settings: TunnelFetchSettings;
  before(async () => {
    server = await testServer();
    const proxy = `socks5h://127.0.0.1:${server.endpoint.port}`;
    settings = { open: (destination, signal) => connect(proxy, destination, { network, signal }), tls: startStreamTls };
    raw = await rawOrigin({
      "/chunked": {
        bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n" +
          "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
      },
      "/length": { bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" },
      "/close": { bytes: "HTTP/1.0 200 OK\r\n\r\nuntil the end", end: true },
      "/head": { bytes: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" },
      "/204": { bytes: "HTTP/1.1 204 No Content\r\n\r\n" },
      "/304": { bytes: "HTTP/1.1 304 Not Modified\r\nContent-Length: 20\r\n\r\n" },
      "/interim": {
        bytes: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
          "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
      },
      "/short": { bytes: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", end: true },
      "/gzip": {
        bytes: (() => {
          const zipped = gzipSync(encoder.encode("compressed hello"));
          const head = encoder.encode(
            `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${zipped.length}\r\n\r\n`,
          );
          const all = new Uint8Array(head.length + zipped.length);
          all.set(head);
          all.set(zipped, head.length);
          return all;
        })(),
      },
      "/smuggle": { bytes: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc", end: true },
      "/silent": { bytes: "" },
      "/early": { bytes: "HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\n\r\nbig!" },
      "/drip": { bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n" },
    });
    echo = await echoOrigin();
    pki = makePki();
    tlsOrigin = await startTlsOrigin(pki);
  });
  after(async () => {
    await raw?.close();
    await echo?.close();
    await tlsOrigin?.close();
    await server?.close();
  });

  const at = (path: string) => `http://localhost:${raw.port}${path}`;

  it("Content-Length, chunked (extensions, trailers, two Set-Cookie) and close-delimited bodies", async () => {
    // The origin keeps these connections open: the body must end at its framing, not at a close.
    assert.equal(await (await tunnelFetch(at("/length"), undefined, settings)).text(), "hello");
    const chunked = await tunnelFetch(at("/chunked"), undefined, settings);
    assert.equal(await chunked.text(), "hello world");
    assert.deepEqual(chunked.headers.getSetCookie(), ["a=1", "b=2"]);
    const closed = await tunnelFetch(at("/close"), undefined, settings);
    assert.equal(closed.status, 200);
    assert.equal(await closed.text(), "until the end");
    assert.ok(await eventually(() => raw.open() === 0), "a finished response left its connection open");
  });

  it("HEAD, 204 and 304 have no body whatever their headers say; 1xx interim responses are skipped", async () => {
    const head = await tunnelFetch(at("/head"), { method: "HEAD" }, settings);
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    assert.equal((await tunnelFetch(at("/204"), undefined, settings)).body, null);
    const notModified = await tunnelFetch(at("/304"), undefined, settings);
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body, null);
    const interim = await tunnelFetch(at("/interim"), undefined, settings);
    assert.equal(interim.status, 201);
    assert.equal(await interim.text(), "ok");
    assert.ok(await eventually(() => raw.open() === 0), "a bodiless response left its connection open");
  });

  it("a gzip body is decoded, as fetch does", async () => {
    assert.equal(await (await tunnelFetch(at("/gzip"), undefined, settings)).text(), "compressed hello");
  });

  it("a body cut short, and ambiguous framing: TypeErrors, never a short success", async () => {
    const short = await tunnelFetch(at("/short"), undefined, settings);
    const error = await short.text().then((t) => assert.fail(`read "${t}"`), (e) => e);
    assert.ok(error instanceof TypeError, String(error));
    assert.equal(socksCause(error)?.code, "closed");
    const smuggled = await tunnelFetch(at("/smuggle"), undefined, settings).catch((e) => e);
    assert.ok(smuggled instanceof TypeError, String(smuggled));
    assert.equal(socksCause(smuggled)?.reply, 502);
  });

  it("an answer that comes before the request body ends is read (the body is sent alongside)", async () => {
    // A body stream that sends one chunk and then never ends: waiting for it before reading would hang.
    const endless = new ReadableStream<Uint8Array>({
      start: (controller) => controller.enqueue(encoder.encode("the start")),
    });
    const init = { method: "POST", body: endless, duplex: "half" } as RequestInit;
    const response = await tunnelFetch(at("/early"), init, settings);
    assert.equal(response.status, 413);
    assert.equal(await response.text(), "big!");
    assert.ok(await eventually(() => raw.open() === 0), "the connection stayed open");
  });

  it("a proxy's refusal: TypeError with the SocksError as cause", async () => {
    const refusing = await testServer({ rules: [{ action: "deny" }] });
    try {
      const proxy = `socks5h://127.0.0.1:${refusing.endpoint.port}`;
      const error = await tunnelFetch(at("/length"), undefined, {
        open: (destination, signal) => connect(proxy, destination, { network, signal }),
      }).catch((e) => e);
      assert.ok(error instanceof TypeError);
      assert.equal(socksCause(error)?.reply, 0x02);
    } finally {
      await refusing.close();
    }
  });

  it("redirects: 301/302 turn POST into GET without body, 303 any method, 307/308 keep method and body", async () => {
    const url = (path: string) => `http://localhost:${echo.port}${path}`;
    const seen = async (path: string, init: RequestInit) => {
      const response = await tunnelFetch(url(path), init, settings);
      assert.equal(response.redirected, true);
      assert.equal(response.url, url("/echo"));
      return JSON.parse(await response.text()) as Seen;
    };
    const post = { method: "POST", body: "twelve bytes", headers: { "content-type": "text/plain" } };
    for (const path of ["/r301", "/r302", "/r303"]) {
      const got = await seen(path, post);
      assert.deepEqual([got.method, got.length, got.contentType], ["GET", 0, null], path);
    }
    assert.equal((await seen("/r303", { method: "PUT", body: "x" })).method, "GET");
    assert.equal((await seen("/r301", { method: "PUT", body: "x" })).method, "PUT", "301 keeps methods but POST");
    for (const path of ["/r307", "/r308"]) {
      const got = await seen(path, post);
      assert.deepEqual([got.method, got.length, got.contentType], ["POST", 12, "text/plain"], path);
    }
  });

  it("a 307 with a streamed body cannot replay it; a 303 drops it", async () => {
    const url = `http://localhost:${echo.port}`;
    const init = () => ({ method: "POST", body: body("streamed"), duplex: "half" }) as RequestInit;
    const error = await tunnelFetch(`${url}/r307`, init(), settings).catch((e) => e);
    assert.ok(error instanceof TypeError, String(error));
    const response = await tunnelFetch(`${url}/r303`, init(), settings);
    assert.equal((JSON.parse(await response.text()) as Seen).method, "GET");
    const direct = await tunnelFetch(`${url}/echo`, init(), settings);
    assert.equal((JSON.parse(await direct.text()) as Seen).length, 8, "a stream is sent chunked");
  });

  it("redirect modes manual and error, the limit of 20, and Authorization dropped across origins", async () => {
    const url = (path: string) => `http://localhost:${echo.port}${path}`;
    const manual = await tunnelFetch(url("/r302"), { redirect: "manual" }, settings);
    assert.equal(manual.status, 302);
    assert.equal(manual.headers.get("location"), "/echo");
    await manual.body?.cancel();
    const refused = await tunnelFetch(url("/r302"), { redirect: "error" }, settings).catch((e) => e);
    assert.ok(refused instanceof TypeError, String(refused));
    const loop = await tunnelFetch(url("/loop"), undefined, settings).catch((e) => e);
    assert.ok(loop instanceof TypeError && /20 redirects/.test(loop.message), String(loop));
    const same = await tunnelFetch(url("/echo"), { headers: { authorization: "Bearer t" } }, settings);
    assert.equal((JSON.parse(await same.text()) as Seen).authorization, "Bearer t");
    const cross = await tunnelFetch(url("/cross"), { headers: { authorization: "Bearer t" } }, settings);
    assert.equal((JSON.parse(await cross.text()) as Seen).authorization, null);
  });

  it("AbortSignal: before, during the proxy's handshake, while awaiting the head, and in the body", async () => {
    const reason = (signal: AbortSignal) => signal.reason;
    const early = AbortSignal.abort();
    assert.equal(await tunnelFetch(at("/length"), { signal: early }, settings).catch((e) => e), reason(early));

    // A "proxy" that accepts and never answers the greeting.
    const mute = net.createServer(() => {}).listen(0, "127.0.0.1");
    await new Promise((r) => mute.once("listening", r));
    try {
      const proxy = `socks5h://127.0.0.1:${(mute.address() as net.AddressInfo).port}`;
      const controller = new AbortController();
      const pending = tunnelFetch(at("/length"), { signal: controller.signal }, {
        open: (destination, signal) => connect(proxy, destination, { network, signal }),
      });
      setTimeout(() => controller.abort(), 50);
      assert.equal(await pending.catch((e) => e), controller.signal.reason);
    } finally {
      mute.close();
    }

    const head = new AbortController();
    const waiting = tunnelFetch(at("/silent"), { signal: head.signal }, settings);
    assert.ok(await eventually(() => raw.open() === 1));
    head.abort();
    assert.equal(await waiting.catch((e) => e), head.signal.reason);
    assert.ok(await eventually(() => raw.open() === 0), "the origin's connection stayed open");

    const inBody = new AbortController();
    const response = await tunnelFetch(at("/drip"), { signal: inBody.signal }, settings);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), "first\n");
    inBody.abort();
    assert.equal(await reader.read().catch((e) => e), inBody.signal.reason);
    assert.ok(await eventually(() => raw.open() === 0), "the origin's connection stayed open");
  });

  it("https: checked against the target's name and the given CA; unknown CA and another name refused", async () => {
    const url = `https://localhost:${tlsOrigin.port}/secure`;
    const ok = await tunnelFetch(url, undefined, { ...settings, ca: pki.caPem });
    assert.equal(await ok.text(), "hello from /secure");
    // An IP literal is checked against the certificate's IP names (and sent with no SNI, RFC 6066 section 3).
    for (const host of ["127.0.0.1", "[::1]"]) {
      const byAddress = await tunnelFetch(`https://${host}:${tlsOrigin.port}/ip`, undefined, {
        ...settings,
        ca: pki.caPem,
      });
      assert.equal(await byAddress.text(), "hello from /ip", host);
    }
    const unknown = await tunnelFetch(url, undefined, settings).catch((e) => e);
    assert.ok(unknown instanceof TypeError, String(unknown));
    assert.equal(socksCause(unknown), undefined, "a certificate failure is not the proxy's");
    // A certificate for another name (and for 127.0.0.1, the proxy's own address): refused for "localhost".
    const otherPki = makePki(["other.example"]);
    const other = await startTlsOrigin(otherPki);
    try {
      const error = await tunnelFetch(`https://localhost:${other.port}/`, undefined, {
        ...settings,
        ca: otherPki.caPem,
      })
        .catch((e) => e);
      assert.ok(error instanceof TypeError, String(error));
      assert.match(String(error.cause), /altname|hostname|name/i);
    } finally {
      await other.close();
    }
  });

  it("a connection that starts TLS in place: Tunnel.startTls is used, with the target's name", async () => {
    const asked: StartTlsOptions[] = [];
    // A Network whose connections offer startTls (as the Workers adapter's do), made of the real ones.
    const inPlace: Network = {
      async connect(options): Promise<Connection> {
        const connection = await network.connect(options);
        return {
          readable: connection.readable,
          writable: connection.writable,
          localAddress: connection.localAddress,
          remoteAddress: connection.remoteAddress,
          close: () => connection.close(),
          startTls(tls: StartTlsOptions) {
            asked.push(tls);
            return startStreamTls({ readable: connection.readable, writable: connection.writable }, tls);
          },
        };
      },
      listen: (options, onConnection) => network.listen(options, onConnection),
      bindUdp: (options, onDatagram) => network.bindUdp(options, onDatagram),
      resolve: (name) => network.resolve(name),
      reverse: (address) => network.reverse(address),
    };
    const proxy = `socks5h://127.0.0.1:${server.endpoint.port}`;
    const response = await tunnelFetch(`https://localhost:${tlsOrigin.port}/in-place`, undefined, {
      open: (destination, signal) => connect(proxy, destination, { network: inPlace, signal }),
      ca: pki.caPem,
    });
    assert.equal(await response.text(), "hello from /in-place");
    assert.deepEqual(asked.map((o) => o.serverName), ["localhost"]);
  });
});
