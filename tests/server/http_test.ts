import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Network } from "../../lib/net/network.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { closedPort, closesWithin, echoServer, loopbackOnly, rawClient, sleep, testServer } from "../helpers/net.ts";
import { payload } from "../helpers/targets.ts";
import { ascii, ask, checksum, httpOrigin, readResponse, scriptedOrigin } from "../helpers/http.ts";

type Server = Awaited<ReturnType<typeof testServer>>;
type Origin = Awaited<ReturnType<typeof httpOrigin>>;

const get = (url: string, extra = "") => `GET ${url} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
const json = (body: Uint8Array) => JSON.parse(new TextDecoder().decode(body));

describe("HTTP proxy: forwarding", () => {
  let server: Server;
  let origin: Origin;
  let origin6: Origin;
  before(async () => {
    server = await testServer({ network: loopbackOnly() });
    origin = await httpOrigin("127.0.0.1", payload);
    origin6 = await httpOrigin("::1", payload);
  });
  after(async () => {
    origin.close();
    origin6.close();
    await server.close();
  });

  it("sends an origin-form request with the URL's Host, no hop-by-hop headers, and passes the answer on", async () => {
    const url = `http://127.0.0.1:${origin.port}/echo?a=1`;
    const response = await ask(
      server.endpoint,
      `GET ${url} HTTP/1.1\r\nHost: wrong.example\r\nProxy-Connection: keep-alive\r\nConnection: X-Secret, close\r\n` +
        `X-Secret: 1\r\nKeep-Alive: 300\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Kept: yes\r\n\r\n`,
    );
    assert.equal(response.status, 200);
    const seen = json(response.body);
    assert.equal(seen.url, "/echo?a=1");
    assert.equal(seen.headers.host, `127.0.0.1:${origin.port}`);
    assert.equal(seen.headers["x-kept"], "yes");
    for (const h of ["proxy-connection", "x-secret", "keep-alive", "te", "upgrade", "proxy-authorization"]) {
      assert.equal(seen.headers[h], undefined, `${h} was forwarded`);
    }
    assert.equal(seen.headers.connection, "close");
    assert.equal(response.headers["x-origin"], "yes");
    assert.equal(response.headers["connection"], "close");
    const record = await server.nextRecord();
    assert.deepEqual([record.method, record.command, record.reply, record.outcome], ["GET", "http", 200, "ok"]);
    assert.equal(record.destination, `127.0.0.1:${origin.port}`);
    assert.equal(record.bytesDown, response.body.length);
    response.client.close();
  });

  it("keeps the client connection for several requests to different destinations", async () => {
    const client = await rawClient(server.endpoint);
    const urls = [
      `http://127.0.0.1:${origin.port}/echo`,
      `http://[::1]:${origin6.port}/echo?second`,
      `http://localhost:${origin.port}/bytes?n=5`,
      `http://127.0.0.1:${origin.port}/echo?fourth`,
    ];
    // Two requests pipelined in one write, then two more one by one.
    await client.send(ascii(get(urls[0]) + get(urls[1])));
    const answers = [await readResponse(client), await readResponse(client)];
    for (const url of urls.slice(2)) {
      await client.send(ascii(get(url)));
      answers.push(await readResponse(client));
    }
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200]);
    assert.equal(json(answers[1].body).url, "/echo?second");
    assert.deepEqual([...answers[2].body], [...payload(5)]);
    assert.equal(json(answers[3].body).url, "/echo?fourth");
    const records = [
      await server.nextRecord(),
      await server.nextRecord(),
      await server.nextRecord(),
      await server.nextRecord(),
    ];
    assert.deepEqual(records.map((r) => r.destination), [
      `127.0.0.1:${origin.port}`,
      `[::1]:${origin6.port}`,
      `localhost:${origin.port}`,
      `127.0.0.1:${origin.port}`,
    ]);
    assert.equal(new Set(records.map((r) => r.client)).size, 1);
    client.close();
  });

  for (const size of [0, 1 << 20]) {
    it(`streams a ${size}-byte body up (Content-Length) and a ${size}-byte body down`, async () => {
      const body = payload(size, 7);
      const client = await rawClient(server.endpoint);
      await client.send(
        ascii(`POST http://127.0.0.1:${origin.port}/echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`),
      );
      await client.send(body);
      const up = await readResponse(client);
      assert.equal(json(up.body).length, size);
      assert.equal(json(up.body).sum, checksum(body));
      await client.send(ascii(get(`http://127.0.0.1:${origin.port}/bytes?n=${size}`)));
      const down = await readResponse(client);
      assert.equal(down.body.length, size);
      assert.equal(checksum(down.body), checksum(payload(size)));
      assert.equal((await server.nextRecord()).bytesUp, size);
      assert.equal((await server.nextRecord()).bytesDown, size);
      client.close();
    });
  }

  it("streams a chunked body up (re-framed, trailers dropped) and a length-less body down re-chunked", async () => {
    const body = payload(300_000, 3);
    const client = await rawClient(server.endpoint);
    await client.send(
      ascii(`POST http://127.0.0.1:${origin.port}/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`),
    );
    for (let i = 0; i < body.length; i += 70_000) {
      const piece = body.subarray(i, i + 70_000);
      await client.send(ascii(`${piece.length.toString(16)};ext=1\r\n`));
      await client.send(piece);
      await client.send(ascii("\r\n"));
    }
    await client.send(ascii("0\r\nX-Trailer: t\r\n\r\n"));
    const up = await readResponse(client);
    assert.equal(up.status, 200);
    assert.equal(json(up.body).length, body.length);
    assert.equal(json(up.body).sum, checksum(body));
    assert.equal(json(up.body).headers["transfer-encoding"], "chunked");
    await client.send(ascii(get(`http://127.0.0.1:${origin.port}/stream?n=250000`)));
    const down = await readResponse(client);
    assert.equal(checksum(down.body), checksum(payload(250_000)));
    await client.send(ascii(get(`http://127.0.0.1:${origin.port}/echo`)));
    assert.equal((await readResponse(client)).status, 200, "still alive after a chunked exchange");
    client.close();
  });

  it("a body that ends with the destination's close: chunked for HTTP/1.1, then close for HTTP/1.0", async () => {
    const scripted = await scriptedOrigin(async (_, peer) => {
      await peer.send(ascii("HTTP/1.0 200 OK\r\nX-Old: 1\r\n\r\nuntil the end"));
    });
    const url = `http://127.0.0.1:${scripted.address.port}/`;
    const client = await rawClient(server.endpoint);
    await client.send(ascii(get(url)));
    const r1 = await readResponse(client);
    assert.equal(r1.headers["transfer-encoding"], "chunked");
    assert.equal(new TextDecoder().decode(r1.body), "until the end");
    await client.send(ascii(`GET ${url} HTTP/1.0\r\n\r\n`));
    const r2 = await readResponse(client);
    assert.equal(r2.headers["connection"], "close");
    assert.equal(new TextDecoder().decode(r2.body), "until the end");
    assert.ok(await closesWithin(client, 5000));
    await scripted.close();
  });

  it("passes 100 Continue on, then the final answer", async () => {
    const scripted = await scriptedOrigin(async (_, peer) => {
      await peer.send(ascii("HTTP/1.1 100 Continue\r\n\r\n"));
      await peer.reader.readExactly(4);
      await peer.send(ascii("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"));
    });
    const client = await rawClient(server.endpoint);
    await client.send(ascii(
      `PUT http://127.0.0.1:${scripted.address.port}/ HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n`,
    ));
    assert.equal((await readResponse(client)).status, 100);
    await client.send(ascii("body"));
    const final = await readResponse(client);
    assert.equal(final.status, 201);
    assert.equal(new TextDecoder().decode(final.body), "ok");
    assert.match(scripted.heads[0], /^PUT \/ HTTP\/1\.1\r\n/);
    assert.match(scripted.heads[0], /\r\nexpect: 100-continue\r\n/i);
    client.close();
    await scripted.close();
  });

  it("relays a WebSocket upgrade the destination accepts", async () => {
    const scripted = await scriptedOrigin(async (head, peer) => {
      assert.match(head, /\r\nUpgrade: websocket\r\n/);
      await peer.send(ascii("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"));
      const frame = await peer.reader.readExactly(3);
      await peer.send(frame.reverse());
    });
    const client = await rawClient(server.endpoint);
    await client.send(ascii(
      `GET http://127.0.0.1:${scripted.address.port}/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nabc`,
    ));
    const switched = await readResponse(client, true);
    assert.equal(switched.status, 101);
    assert.equal(new TextDecoder().decode(await client.reader.readExactly(3)), "cba");
    client.close();
    await scripted.close();
  });

  it("backpressure: a client that does not read holds the destination back", async () => {
    const total = 256 << 20;
    let sent = 0;
    const scripted = await scriptedOrigin(async (_, peer) => {
      await peer.send(ascii(`HTTP/1.1 200 OK\r\nContent-Length: ${total}\r\n\r\n`));
      const piece = new Uint8Array(64 << 10);
      while (sent < total) {
        await peer.send(piece);
        sent += piece.length;
      }
    });
    const client = await rawClient(server.endpoint);
    await client.send(ascii(get(`http://127.0.0.1:${scripted.address.port}/`)));
    await sleep(1500);
    const whileStalled = sent;
    assert.ok(whileStalled < 64 << 20, `the destination sent ${whileStalled} bytes to a client reading nothing`);
    let received = 0;
    let text = "";
    while (!text.endsWith("\r\n\r\n")) text += String.fromCharCode(await client.reader.readByte());
    while (received < total) received += (await client.reader.readAtMost(1 << 20)).length;
    assert.equal(received, total);
    assert.ok(sent === total);
    client.close();
    await scripted.close();
  });
});

describe("HTTP proxy: CONNECT", () => {
  let server: Server;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  before(async () => {
    server = await testServer({ network: loopbackOnly() });
    echo = await echoServer();
  });
  after(async () => {
    echo.close();
    await server.close();
  });

  for (const target of ["127.0.0.1", "localhost", "[::1]"]) {
    it(`CONNECT ${target}: 200 once connected, bytes sent behind the request kept, half-close`, async () => {
      const echoAt = target === "[::1]" ? await echoServer("::1") : echo;
      const client = await rawClient(server.endpoint);
      await client.send(ascii(`CONNECT ${target}:${echoAt.address.port} HTTP/1.1\r\nHost: ${target}\r\n\r\nearly`));
      const response = await readResponse(client, true);
      assert.equal(response.status, 200);
      assert.equal(new TextDecoder().decode(await client.reader.readExactly(5)), "early");
      await client.send(ascii("more"));
      assert.equal(new TextDecoder().decode(await client.reader.readExactly(4)), "more");
      await client.writer.close();
      assert.equal((await client.readToEnd()).length, 0);
      const record = await server.nextRecord();
      assert.deepEqual([record.method, record.command, record.reply, record.bytesUp, record.bytesDown], [
        "CONNECT",
        "connect",
        200,
        9,
        9,
      ]);
      if (echoAt !== echo) echoAt.close();
    });
  }
});

/** A network whose connects never finish (until aborted): a destination that drops SYNs. */
function blackHole(inner: Network): Network {
  return {
    ...inner,
    connect: (options) =>
      options.hostname === "192.0.2.1"
        ? new Promise((_, reject) =>
          options.signal?.addEventListener("abort", () => reject(new SocksError("aborted", "gave up")), { once: true })
        )
        : inner.connect(options),
  };
}

describe("HTTP proxy: every status code", () => {
  let server: Server;
  let origin: Origin;
  let refused: number;
  before(async () => {
    origin = await httpOrigin("127.0.0.1", payload);
    refused = await closedPort();
    server = await testServer({
      network: blackHole(loopbackOnly()),
      connectTimeoutMs: 300,
      rules: [
        { action: "deny", commands: ["http"], ports: [String(refused + 1)] },
        { action: "deny", destinations: ["forbidden.localhost"] },
        { action: "allow" },
      ],
    });
  });
  after(async () => {
    origin.close();
    await server.close();
  });

  const cases: [string, () => string, number][] = [
    ["origin-form (not a proxy request)", () => get("/index.html"), 400],
    ["https:// in absolute form", () => get(`https://127.0.0.1:${origin.port}/`), 400],
    ["a URL with user info", () => get(`http://u:p@127.0.0.1:${origin.port}/`), 400],
    ["another scheme", () => get(`ftp://127.0.0.1:${origin.port}/`), 400],
    ["HTTP/1.1 without Host", () => `GET http://127.0.0.1:${origin.port}/ HTTP/1.1\r\n\r\n`, 400],
    ["two Host headers", () => `GET http://127.0.0.1:${origin.port}/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`, 400],
    ["CONNECT without a port", () => "CONNECT 127.0.0.1 HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["a malformed request line", () => "HELLO\r\n\r\n", 400],
    ["a rule (http on a port)", () => get(`http://127.0.0.1:${refused + 1}/`), 403],
    ["a rule (a name, CONNECT)", () => "CONNECT forbidden.localhost:443 HTTP/1.1\r\nHost: x\r\n\r\n", 403],
    [
      "a header block over 64 KiB",
      () => get(`http://127.0.0.1:${origin.port}/`, `X-Big: ${"a".repeat(70_000)}\r\n`),
      431,
    ],
    [
      "Transfer-Encoding: gzip, chunked",
      () => get(`http://127.0.0.1:${origin.port}/`, "Transfer-Encoding: gzip, chunked\r\n"),
      501,
    ],
    ["a refused connection", () => get(`http://127.0.0.1:${refused}/`), 502],
    ["a refused CONNECT", () => `CONNECT 127.0.0.1:${refused} HTTP/1.1\r\nHost: x\r\n\r\n`, 502],
    ["a name that does not resolve", () => get("http://nowhere.test/"), 502],
    ["a connect timeout", () => get("http://192.0.2.1/"), 504],
    ["CONNECT timeout", () => "CONNECT 192.0.2.1:443 HTTP/1.1\r\nHost: x\r\n\r\n", 504],
    ["HTTP/2.0 in text", () => `GET http://127.0.0.1:${origin.port}/ HTTP/2.0\r\n\r\n`, 505],
  ];
  for (const [what, request, status] of cases) {
    it(`${status} for ${what}, then close; the log says so`, async () => {
      const response = await ask(server.endpoint, request());
      assert.equal(response.status, status);
      assert.equal(response.headers["connection"], "close");
      assert.ok(await closesWithin(response.client, 5000));
      const record = await server.nextRecord();
      assert.equal(record.reply, status);
      assert.notEqual(record.outcome, "ok");
    });
  }

  it("502 for a destination whose answer is malformed or ambiguous", async () => {
    for (
      const bad of [
        "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "",
      ]
    ) {
      const scripted = await scriptedOrigin(async (_, peer) => void await peer.send(ascii(bad)));
      const response = await ask(server.endpoint, get(`http://127.0.0.1:${scripted.address.port}/`));
      assert.equal(response.status, 502, JSON.stringify(bad));
      response.client.close();
      await server.nextRecord();
      await scripted.close();
    }
  });

  const smuggling: [string, string][] = [
    ["Content-Length with Transfer-Encoding", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
    ["differing Content-Lengths", "Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"],
    ["obsolete line folding", "X-A: 1\r\n Content-Length: 4\r\n\r\nabcd"],
    ["bare LF", "Content-Length: 4\nX: y\r\n\r\nabcd"],
    ["whitespace before a colon", "Content-Length : 4\r\n\r\nabcd"],
    ["a bad chunk size", "Transfer-Encoding: chunked\r\n\r\n-4\r\nabcd\r\n0\r\n\r\n"],
  ];
  for (const [what, rest] of smuggling) {
    it(`refuses ${what} with 400, and the destination sees nothing`, async () => {
      const before = origin.requests;
      const response = await ask(
        server.endpoint,
        `POST http://127.0.0.1:${origin.port}/echo HTTP/1.1\r\nHost: x\r\n${rest}`,
      );
      assert.equal(response.status, 400);
      assert.ok(await closesWithin(response.client, 5000));
      await server.nextRecord();
      // The bad chunk size is found while the body streams: the head went out, the body never completed.
      if (!what.includes("chunk")) assert.equal(origin.requests, before);
    });
  }
});

describe("HTTP proxy: authentication, limits, protocols", () => {
  let origin: Origin;
  before(async () => {
    origin = await httpOrigin("127.0.0.1", payload);
  });
  after(() => origin.close());

  it("407 with a Basic challenge, kept alive; the same connection then succeeds with credentials", async () => {
    const server = await testServer({ users: new Map([["alice", "pä:zq7"]]) });
    try {
      const client = await rawClient(server.endpoint);
      const url = `http://127.0.0.1:${origin.port}/echo`;
      await client.send(ascii(get(url)));
      const challenge = await readResponse(client);
      assert.equal(challenge.status, 407);
      assert.equal(challenge.headers["proxy-authenticate"], 'Basic realm="tabi"');
      assert.equal(challenge.headers["connection"], undefined);
      const good = btoa(String.fromCharCode(...new TextEncoder().encode("alice:pä:zq7")));
      await client.send(ascii(get(url, `Proxy-Authorization: Basic ${good}\r\n`)));
      const ok = await readResponse(client);
      assert.equal(ok.status, 200);
      assert.equal(json(ok.body).headers["proxy-authorization"], undefined, "credentials went to the destination");
      // Wrong credentials: 407, and the connection closes, as RFC 1929 has the SOCKS side close after one failure.
      await client.send(ascii(get(url, `Proxy-Authorization: Basic ${btoa("alice:wrong")}\r\n`)));
      const wrong = await readResponse(client);
      assert.equal(wrong.status, 407);
      assert.equal(wrong.headers["connection"], "close");
      assert.ok(await closesWithin(client, 5000));
      for (const bad of ["Basic " + btoa("bob:pä:zq7"), "Bearer x", "Basic !!!"]) {
        const response = await ask(server.endpoint, get(url, `Proxy-Authorization: ${bad}\r\n`));
        assert.equal(response.status, 407, bad);
        assert.ok(await closesWithin(response.client, 5000), bad);
      }
      const records = [await server.nextRecord(), await server.nextRecord(), await server.nextRecord()];
      assert.deepEqual(records.map((r) => r.reply), [407, 200, 407]);
      assert.equal(records[1].user, "alice");
      assert.ok(!JSON.stringify(server.records).includes("zq7"), "a password reached the log");
      // The SOCKS side of the same port still asks for RFC 1929: no-auth alone gets 0xFF.
      const socks = await rawClient(server.endpoint);
      await socks.send([5, 1, 0]);
      assert.deepEqual([...await socks.readToEnd()], [5, 0xff]);
    } finally {
      await server.close();
    }
  });

  it("one wrong password per connection: 50 guesses pipelined get one 407, then the connection closes", async () => {
    const server = await testServer({ users: new Map([["alice", "right"]]) });
    try {
      const client = await rawClient(server.endpoint);
      const url = `http://127.0.0.1:${origin.port}/echo`;
      const guesses = Array.from(
        { length: 50 },
        (_, i) => get(url, `Proxy-Authorization: Basic ${btoa(`alice:${i}`)}\r\n`),
      );
      // The last one is right: it must never be tried.
      guesses.push(get(url, `Proxy-Authorization: Basic ${btoa("alice:right")}\r\n`));
      await client.send(ascii(guesses.join("")));
      const rest = new TextDecoder().decode(await client.readToEnd());
      assert.equal(rest.match(/^HTTP\/1\.1 /gm)?.length, 1, rest.slice(0, 400));
      assert.match(rest, /^HTTP\/1\.1 407 /);
      assert.equal((await server.nextRecord()).reply, 407);
      assert.equal(server.records.length, 1);
    } finally {
      await server.close();
    }
  });

  it("the handshake timeout cuts a slowly sent header block (first and later requests)", async () => {
    const server = await testServer({ handshakeTimeoutMs: 400 });
    try {
      const client = await rawClient(server.endpoint);
      await client.send(ascii("GET http://127.0.0.1/ HTTP/1.1\r\n"));
      let dripped = 0;
      const drip = (async () => {
        for (; dripped < 50; dripped++) {
          await sleep(50);
          await client.send(ascii("X")).catch(() => {});
        }
      })();
      assert.ok(await closesWithin(client, 5000));
      assert.ok(dripped < 50);
      await drip;
      assert.equal((await server.nextRecord()).outcome, "handshake-timeout");
    } finally {
      await server.close();
    }
  });

  it('rules: commands ["http"] names forwarding alone (CONNECT is connect); a versions rule never matches HTTP', async () => {
    const echo = await echoServer();
    const server = await testServer({
      rules: [
        { action: "deny", commands: ["http"] },
        { action: "allow", versions: [5] },
        { action: "allow", commands: ["connect"], users: ["nobody"] },
        { action: "allow", commands: ["connect"], ports: [String(echo.address.port)] },
      ],
    });
    try {
      assert.equal((await ask(server.endpoint, get(`http://127.0.0.1:${origin.port}/echo`))).status, 403);
      const tunnel = await ask(server.endpoint, `CONNECT 127.0.0.1:${echo.address.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(tunnel.status, 200);
      tunnel.client.close();
      // The versions: [5] rule would allow anything over SOCKS5, but does not match HTTP: no rule allows this one.
      const other = await ask(server.endpoint, `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(other.status, 403);
    } finally {
      echo.close();
      await server.close();
    }
  });

  it("protected ranges: an exposed server does not reach its own loopback over HTTP", async () => {
    const server = await testServer({ protectedDestinations: ["127.0.0.0/8", "::1/128"] });
    try {
      const response = await ask(server.endpoint, get(`http://127.0.0.1:${origin.port}/echo`));
      assert.equal(response.status, 403);
      const tunnel = await ask(server.endpoint, `CONNECT localhost:${origin.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(tunnel.status, 403);
    } finally {
      await server.close();
    }
  });

  it("--protocols: a server without http closes an HTTP client unanswered; one without SOCKS closes SOCKS", async () => {
    const socksOnly = await testServer({ protocols: ["socks4", "socks5"] });
    const httpOnly = await testServer({ protocols: ["http"] });
    try {
      const client = await rawClient(socksOnly.endpoint);
      await client.send(ascii(get(`http://127.0.0.1:${origin.port}/echo`)));
      assert.equal((await client.readToEnd()).length, 0);
      const socks = await rawClient(httpOnly.endpoint);
      await socks.send([5, 1, 0]);
      assert.equal((await socks.readToEnd()).length, 0);
      assert.equal((await ask(httpOnly.endpoint, get(`http://127.0.0.1:${origin.port}/echo`))).status, 200);
    } finally {
      await socksOnly.close();
      await httpOnly.close();
    }
  });
});
