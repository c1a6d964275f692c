import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeChunkEnd,
  decodeChunkSize,
  requestFraming,
  responseCodings,
  responseFraming,
} from "../../lib/wire/http_framing.ts";
import {
  decodeHttpRequestHead,
  decodeHttpResponseHead,
  encodeHttpHead,
  HTTP_HEAD_LIMIT,
  httpRequestHeadDecoder,
  httpTrailerDecoder,
} from "../../lib/wire/http_head.ts";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const request = (text: string) => decodeHttpRequestHead(bytes(text));
const head = (text: string) => {
  const result = request(text);
  assert.ok(result.done, "a complete head");
  return result.value;
};

describe("HTTP request head", () => {
  it("decodes method, target, version and headers, and says how many bytes it took", () => {
    const text = "GET http://a.example/x?y HTTP/1.1\r\nHost: a.example\r\nX-Empty:\r\nX-Pad:  v \t\r\n\r\nBODY";
    const result = request(text);
    assert.ok(result.done);
    assert.equal(result.consumed, text.length - 4);
    assert.equal(result.value.method, "GET");
    assert.equal(result.value.target, "http://a.example/x?y");
    assert.equal(result.value.version, "HTTP/1.1");
    assert.deepEqual(result.value.headers, [
      { name: "Host", value: "a.example" },
      { name: "X-Empty", value: "" },
      { name: "X-Pad", value: "v" },
    ]);
  });

  it("asks for more until the empty line, one byte at a time, and skips leading empty lines", () => {
    const text = "\r\n\r\nGET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n";
    const decode = httpRequestHeadDecoder();
    for (let n = 0; n < text.length; n++) assert.equal(decode(bytes(text.slice(0, n))).done, false, `at ${n}`);
    const result = decode(bytes(text));
    assert.ok(result.done);
    assert.equal(result.consumed, text.length);
  });

  it("keeps obs-text bytes of a value (Latin-1 round trip)", () => {
    const value = head("GET http://a/ HTTP/1.1\r\nX: caf\xe9\r\n\r\n").headers[0].value;
    assert.equal(value, "caf\xe9");
    assert.deepEqual([...encodeHttpHead("X", [{ name: "X", value }])].slice(6, 10), [0x63, 0x61, 0x66, 0xe9]);
  });

  const refusals: [string, string, number][] = [
    ["bare LF after the request line", "GET http://a/ HTTP/1.1\nHost: a\r\n\r\n", 400],
    ["bare LF ending the head", "GET http://a/ HTTP/1.1\r\nHost: a\n\n", 400],
    ["CR without LF", "GET http://a/ HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400],
    ["obsolete line folding", "GET http://a/ HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n", 400],
    ["whitespace before the colon", "GET http://a/ HTTP/1.1\r\nContent-Length : 5\r\n\r\n", 400],
    ["a header line without a colon", "GET http://a/ HTTP/1.1\r\nHost a\r\n\r\n", 400],
    ["a NUL in a value", "GET http://a/ HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400],
    ["two spaces in the request line", "GET  http://a/ HTTP/1.1\r\n\r\n", 400],
    ["a bad method token", "G(T http://a/ HTTP/1.1\r\n\r\n", 400],
    ["a bad version", "GET http://a/ HTTX/1.1\r\n\r\n", 400],
    ["HTTP/2.0 in text", "GET http://a/ HTTP/2.0\r\n\r\n", 505],
    ["a control character in the target", "GET http://a/\x01 HTTP/1.1\r\n\r\n", 400],
  ];
  for (const [what, text, status] of refusals) {
    it(`refuses ${what} (${status})`, () => assert.throws(() => request(text), { reply: status }));
  }

  it("refuses a first byte that cannot start a method before the head is whole; waits on a good start", () => {
    // A TLS hello, an RFC 1929 message, a request line starting with a space, a NUL after a method's letters.
    for (const start of ["\x16\x03\x01", "\x01\x05alice", " GET", "GE\x00T", "\r\n\x01"]) {
      assert.throws(() => request(start), { reply: 400, message: /cannot start an HTTP request line/ }, start);
    }
    for (const start of ["", "\r", "\r\n", "\r\n\r", "C", "CONNECT", "CONNECT ", "GET http://a/ HTTP/1.1\r\n"]) {
      assert.equal(request(start).done, false, JSON.stringify(start));
    }
  });

  it(`refuses a head over ${HTTP_HEAD_LIMIT} bytes with 431, and takes one just under`, () => {
    const start = "GET http://a/ HTTP/1.1\r\nX: ";
    const under = start + "v".repeat(HTTP_HEAD_LIMIT - start.length - 4) + "\r\n\r\n";
    assert.equal(under.length, HTTP_HEAD_LIMIT);
    assert.ok(request(under).done);
    assert.throws(() => request(start + "v".repeat(HTTP_HEAD_LIMIT)), { reply: 431 });
  });
});

describe("HTTP message framing", () => {
  const req = (...headers: [string, string][]) =>
    head(`POST http://a/ HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`);
  it("reads Content-Length, chunked, and no body", () => {
    assert.deepEqual(requestFraming(req(["Content-Length", "12"])), { kind: "length", length: 12 });
    assert.deepEqual(requestFraming(req(["Content-Length", "0"])), { kind: "length", length: 0 });
    assert.deepEqual(requestFraming(req(["Transfer-Encoding", "Chunked"])), { kind: "chunked" });
    assert.deepEqual(requestFraming(req()), { kind: "none" });
    assert.deepEqual(requestFraming(req(["Content-Length", "7"], ["Content-Length", "7"])), {
      kind: "length",
      length: 7,
    });
  });
  const refused: [string, [string, string][], number][] = [
    ["Content-Length and Transfer-Encoding", [["Content-Length", "3"], ["Transfer-Encoding", "chunked"]], 400],
    ["differing Content-Lengths", [["Content-Length", "3"], ["Content-Length", "4"]], 400],
    ["a Content-Length list that differs", [["Content-Length", "3, 4"]], 400],
    ["a signed Content-Length", [["Content-Length", "+3"]], 400],
    ["a hex Content-Length", [["Content-Length", "0x3"]], 400],
    ["Transfer-Encoding: gzip, chunked", [["Transfer-Encoding", "gzip, chunked"]], 501],
    ["Transfer-Encoding: chunked, identity", [["Transfer-Encoding", "chunked, identity"]], 400],
    ["Transfer-Encoding: xchunked", [["Transfer-Encoding", "xchunked"]], 400],
  ];
  for (const [what, headers, status] of refused) {
    it(`refuses ${what} (${status})`, () => assert.throws(() => requestFraming(req(...headers)), { reply: status }));
  }
  it("refuses Transfer-Encoding in an HTTP/1.0 request", () => {
    const h = head("POST http://a/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert.throws(() => requestFraming(h), { reply: 400 });
  });

  it("frames responses by method and status (RFC 9112 section 6.3)", () => {
    const res = (text: string) => {
      const r = decodeHttpResponseHead(bytes(text));
      assert.ok(r.done);
      return r.value;
    };
    assert.deepEqual(responseFraming(res("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), "HEAD"), { kind: "none" });
    assert.deepEqual(responseFraming(res("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"), "GET"), {
      kind: "none",
    });
    assert.deepEqual(responseFraming(res("HTTP/1.1 204 No Content\r\n\r\n"), "GET"), { kind: "none" });
    assert.deepEqual(responseFraming(res("HTTP/1.0 200 OK\r\n\r\n"), "GET"), { kind: "close" });
    assert.deepEqual(responseFraming(res("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), "GET"), {
      kind: "chunked",
    });
    assert.throws(
      () => responseFraming(res("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"), "GET"),
      { reply: 502 },
    );
    assert.throws(() => decodeHttpResponseHead(bytes("HTTP/1.1 20 OK\r\n\r\n")), { reply: 400 });
  });

  it("frames gzip, chunked as chunked keeping gzip; refuses chunked before another coding or twice", () => {
    const res = (te: string) => {
      const r = decodeHttpResponseHead(bytes(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\n`));
      assert.ok(r.done);
      return r.value;
    };
    assert.deepEqual(responseFraming(res("gzip, chunked"), "GET"), { kind: "chunked" });
    assert.deepEqual(responseCodings(res("gzip, Chunked")), ["gzip"]);
    assert.deepEqual(responseFraming(res("gzip"), "GET"), { kind: "close" });
    assert.deepEqual(responseCodings(res("x-a, gzip")), ["x-a", "gzip"]);
    for (const bad of ["chunked, gzip", "chunked, chunked", "chunked, gzip, chunked"]) {
      assert.throws(() => responseFraming(res(bad), "GET"), { reply: 502 }, bad);
    }
  });

  it("decodes chunk-size lines with extensions, and refuses bad ones", () => {
    assert.deepEqual(decodeChunkSize(bytes('ff;a=b;c="d e"\r\n')), { done: true, value: 255, consumed: 16 });
    assert.equal(decodeChunkSize(bytes("ff")).done, false);
    for (const bad of ["\r\n", "g\r\n", "-1\r\n", "1\n", "1 x\r\n", "12345678901234\r\n", "1;\x01\r\n"]) {
      assert.throws(() => decodeChunkSize(bytes(bad)), { reply: 400 }, JSON.stringify(bad));
    }
    assert.throws(() => decodeChunkSize(bytes("1".repeat(5000))), { reply: 400 });
    assert.deepEqual(decodeChunkEnd(bytes("\r\nx")), { done: true, value: true, consumed: 2 });
    assert.throws(() => decodeChunkEnd(bytes("x\r\n")), { reply: 400 });
    assert.throws(() => decodeChunkEnd(bytes("\n")), { reply: 400 });
  });

  it("decodes trailers (none, some) and refuses bare LF in them", () => {
    assert.deepEqual(httpTrailerDecoder()(bytes("\r\nnext")), { done: true, value: [], consumed: 2 });
    const r = httpTrailerDecoder()(bytes("X-Sum: 1\r\n\r\n"));
    assert.ok(r.done);
    assert.deepEqual(r.value, [{ name: "X-Sum", value: "1" }]);
    assert.throws(() => httpTrailerDecoder()(bytes("X-Sum: 1\n\n")), { reply: 400 });
  });
});
