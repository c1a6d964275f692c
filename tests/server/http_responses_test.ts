/**
 * How the HTTP side passes a destination's answer on: transfer codings kept around the chunked framing, no length on
 * a 204, no interim answer to an HTTP/1.0 client (RFC 9110, RFC 9112).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { closesWithin, loopbackOnly, rawClient, testServer } from "../helpers/net.ts";
import { ascii, readResponse, scriptedOrigin } from "../helpers/http.ts";
import { requirePeer } from "../helpers/peers.ts";

type Server = Awaited<ReturnType<typeof testServer>>;

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The body of a gzip-coded text sent as `Transfer-Encoding: gzip, chunked`, in two chunks. */
const original = "a body gzip-coded, then chunked, ".repeat(40);
const gzipped = new Uint8Array(gzipSync(new TextEncoder().encode(original)));
const half = gzipped.length >> 1;
function gzipChunkedAnswer(extra = ""): Uint8Array[] {
  return [
    ascii(`HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n${extra}\r\n${half.toString(16)}\r\n`),
    gzipped.subarray(0, half),
    ascii(`\r\n${(gzipped.length - half).toString(16)};x=1\r\n`),
    gzipped.subarray(half),
    ascii("\r\n0\r\n\r\n"),
  ];
}

describe("HTTP proxy: the destination's answer", () => {
  let server: Server;
  before(async () => {
    server = await testServer({ network: loopbackOnly() });
  });
  after(async () => {
    await server.close();
  });

  it("Transfer-Encoding: gzip, chunked reaches an HTTP/1.1 client with its codings and its content intact", async () => {
    const scripted = await scriptedOrigin(async (_, peer) => {
      for (const piece of gzipChunkedAnswer()) await peer.send(piece);
    });
    const client = await rawClient(server.endpoint);
    await client.send(ascii(`GET http://127.0.0.1:${scripted.address.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`));
    let head = "";
    while (!head.endsWith("\r\n\r\n")) head += String.fromCharCode(await client.reader.readByte());
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.match(head, /\r\nTransfer-Encoding: gzip, chunked\r\n/i);
    // The body is read chunk by chunk up to the last one: the connection stays open for the next request.
    const body: number[] = [];
    for (;;) {
      let line = "";
      while (!line.endsWith("\r\n")) line += String.fromCharCode(await client.reader.readByte());
      assert.match(line, /^[0-9a-f]+\r\n$/);
      const size = parseInt(line, 16);
      if (size === 0) break;
      body.push(...await client.reader.readExactly(size));
      assert.equal(text(await client.reader.readExactly(2)), "\r\n");
    }
    assert.equal(text(await client.reader.readExactly(2)), "\r\n");
    assert.equal(text(gunzipSync(new Uint8Array(body))), original);
    const record = await server.nextRecord();
    assert.equal(record.bytesDown, gzipped.length);
    client.close();
    await scripted.close();
  });

  it("Transfer-Encoding: gzip alone (the body ends with the close) reaches an HTTP/1.1 client as gzip, chunked", async () => {
    const scripted = await scriptedOrigin(async (_, peer) => {
      await peer.send(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"));
      await peer.send(gzipped);
    });
    const client = await rawClient(server.endpoint);
    await client.send(ascii(`GET http://127.0.0.1:${scripted.address.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`));
    let head = "";
    while (!head.endsWith("\r\n\r\n")) head += String.fromCharCode(await client.reader.readByte());
    assert.match(head, /\r\nTransfer-Encoding: gzip, chunked\r\n/i);
    const body: number[] = [];
    for (;;) {
      let line = "";
      while (!line.endsWith("\r\n")) line += String.fromCharCode(await client.reader.readByte());
      const size = parseInt(line, 16);
      if (size === 0) break;
      body.push(...await client.reader.readExactly(size));
      await client.reader.readExactly(2);
    }
    assert.equal(text(gunzipSync(new Uint8Array(body))), original);
    await server.nextRecord();
    client.close();
    await scripted.close();
  });

  it("curl --tr-encoding decodes a gzip, chunked answer through the proxy", async () => {
    const curl = requirePeer("curl");
    const scripted = await scriptedOrigin(async (_, peer) => {
      for (const piece of gzipChunkedAnswer()) await peer.send(piece);
    });
    const out = await new Promise<string>((resolve, reject) => {
      execFile(curl, [
        "-sS",
        "--max-time",
        "10",
        "--tr-encoding",
        "-x",
        `http://127.0.0.1:${server.endpoint.port}`,
        `http://127.0.0.1:${scripted.address.port}/`,
      ], (error, stdout, stderr) => error ? reject(new Error(`${error.message}: ${stderr}`)) : resolve(stdout));
    });
    assert.equal(out, original);
    await server.nextRecord();
    await scripted.close();
  });

  it("an HTTP/1.0 client: 502 for a gzip, chunked answer; bare data, then close, for a chunked one", async () => {
    const coded = await scriptedOrigin(async (_, peer) => {
      for (const piece of gzipChunkedAnswer()) await peer.send(piece);
    });
    const first = await rawClient(server.endpoint);
    await first.send(ascii(`GET http://127.0.0.1:${coded.address.port}/ HTTP/1.0\r\n\r\n`));
    const refused = await readResponse(first);
    assert.equal(refused.status, 502);
    assert.ok(await closesWithin(first, 5000));
    assert.equal((await server.nextRecord()).reply, 502);
    await coded.close();

    const plain = await scriptedOrigin(async (_, peer) => {
      await peer.send(
        ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
      );
    });
    const second = await rawClient(server.endpoint);
    await second.send(ascii(`GET http://127.0.0.1:${plain.address.port}/ HTTP/1.0\r\n\r\n`));
    const whole = text(await second.readToEnd());
    const [head, body] = whole.split("\r\n\r\n");
    assert.doesNotMatch(head, /transfer-encoding/i, "an HTTP/1.0 client was sent a transfer coding");
    assert.match(head, /\r\nConnection: close/i);
    assert.equal(body, "hello world");
    assert.equal((await server.nextRecord()).bytesDown, 11);
    await plain.close();
  });

  it("Transfer-Encoding with chunked before another coding, or twice: 502", async () => {
    for (const codings of ["chunked, gzip", "chunked, chunked"]) {
      const scripted = await scriptedOrigin(async (_, peer) => {
        await peer.send(ascii(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${codings}\r\n\r\n0\r\n\r\n`));
      });
      const client = await rawClient(server.endpoint);
      await client.send(ascii(`GET http://127.0.0.1:${scripted.address.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`));
      assert.equal((await readResponse(client)).status, 502, codings);
      await server.nextRecord();
      client.close();
      await scripted.close();
    }
  });

  it("a 204 loses its Content-Length; the next answer on the connection is read whole", async () => {
    let n = 0;
    const scripted = await scriptedOrigin(async (_, peer) => {
      n++;
      await peer.send(ascii("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\nX-N: 1\r\n\r\n"));
    });
    const client = await rawClient(server.endpoint);
    const url = `http://127.0.0.1:${scripted.address.port}/`;
    await client.send(ascii(`GET ${url} HTTP/1.1\r\nHost: x\r\n\r\nGET ${url} HTTP/1.1\r\nHost: x\r\n\r\n`));
    let head = "";
    while (!head.endsWith("\r\n\r\n")) head += String.fromCharCode(await client.reader.readByte());
    assert.match(head, /^HTTP\/1\.1 204 /);
    assert.match(head, /\r\nX-N: 1\r\n/);
    assert.doesNotMatch(head, /content-length/i);
    const second = await readResponse(client);
    assert.equal(second.status, 204);
    assert.equal(second.headers["content-length"], undefined);
    assert.equal(n, 2);
    await server.nextRecord();
    await server.nextRecord();
    client.close();
    await scripted.close();
  });

  it("a HEAD answer and a 304 keep their Content-Length", async () => {
    const scripted = await scriptedOrigin(async (head, peer) => {
      const status = head.startsWith("HEAD") ? "200 OK" : "304 Not Modified";
      await peer.send(ascii(`HTTP/1.1 ${status}\r\nContent-Length: 7\r\n\r\n`));
    });
    const client = await rawClient(server.endpoint);
    const url = `http://127.0.0.1:${scripted.address.port}/`;
    await client.send(ascii(`HEAD ${url} HTTP/1.1\r\nHost: x\r\n\r\n`));
    assert.equal((await readResponse(client, true)).headers["content-length"], "7");
    await client.send(ascii(`GET ${url} HTTP/1.1\r\nHost: x\r\n\r\n`));
    const notModified = await readResponse(client);
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers["content-length"], "7");
    await server.nextRecord();
    await server.nextRecord();
    client.close();
    await scripted.close();
  });

  it("no 1xx goes to an HTTP/1.0 client: it hears the final answer alone; an HTTP/1.1 client hears both", async () => {
    const scripted = await scriptedOrigin(async (_, peer) => {
      await peer.send(ascii("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"));
      await peer.send(ascii("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    });
    const url = `http://127.0.0.1:${scripted.address.port}/`;
    const old = await rawClient(server.endpoint);
    await old.send(ascii(`GET ${url} HTTP/1.0\r\n\r\n`));
    const whole = text(await old.readToEnd());
    assert.match(whole, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(whole.match(/HTTP\/1\.1 /g)?.length, 1, whole);
    assert.ok(whole.endsWith("\r\n\r\nok"));
    await server.nextRecord();
    const client = await rawClient(server.endpoint);
    await client.send(ascii(`GET ${url} HTTP/1.1\r\nHost: x\r\n\r\n`));
    assert.equal((await readResponse(client)).status, 100);
    assert.equal((await readResponse(client)).status, 103);
    assert.equal((await readResponse(client)).status, 200);
    await server.nextRecord();
    client.close();
    await scripted.close();
  });
});
