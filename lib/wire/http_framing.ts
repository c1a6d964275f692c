/**
 * Where an HTTP/1.1 message body ends (RFC 9112 section 6), and the chunked coding's size lines (section 7.1).
 * A request whose length could be read two ways is refused (400), never guessed: that disagreement between a
 * proxy and the server behind it is what request smuggling is made of.
 *
 * @module
 */
import { complete, type Decoded, needMore } from "./decoded.ts";
import { headerTokens, headerValues, type HttpRequestHead, type HttpResponseHead } from "./http_head.ts";
import { SocksError } from "./socks_error.ts";

/** How a body is delimited: none, a length, chunked, or (responses only) the end of the connection. */
export type BodyFraming =
  | { readonly kind: "none" }
  | { readonly kind: "length"; readonly length: number }
  | { readonly kind: "chunked" }
  | { readonly kind: "close" };

function bad(why: string, status: number): SocksError {
  return new SocksError(status === 501 ? "unsupported" : "bad-field", why, { reply: status });
}

/** The one Content-Length of a message, or undefined; throws when several differ or one is not a number. */
function contentLength(values: readonly string[], status: number): number | undefined {
  if (values.length === 0) return undefined;
  const all = values.flatMap((v) => v.split(",")).map((v) => v.trim());
  if (!all.every((v) => /^[0-9]{1,15}$/.test(v))) throw bad(`bad Content-Length "${values.join(", ")}"`, status);
  if (new Set(all.map(Number)).size !== 1) throw bad(`differing Content-Length values "${values.join(", ")}"`, status);
  return Number(all[0]);
}

/**
 * The framing of a request body. Throws (with `reply` the status to answer) on Content-Length together with
 * Transfer-Encoding, differing Content-Lengths, a bad number, Transfer-Encoding in HTTP/1.0 (400), and any coding
 * other than a lone "chunked" (501).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestFraming } from "./http_framing.ts";
 * const head = { method: "POST", target: "http://a/", version: "HTTP/1.1" as const, headers: [
 *   { name: "Content-Length", value: "5" }, { name: "Transfer-Encoding", value: "chunked" },
 * ] };
 * assert.throws(() => requestFraming(head), { reply: 400 });
 * ```
 */
export function requestFraming(head: HttpRequestHead): BodyFraming {
  const te = headerValues(head.headers, "transfer-encoding");
  const cl = headerValues(head.headers, "content-length");
  if (te.length > 0) {
    if (cl.length > 0) throw bad("both Content-Length and Transfer-Encoding", 400);
    if (head.version === "HTTP/1.0") throw bad("Transfer-Encoding in an HTTP/1.0 request", 400);
    const codings = headerTokens(head.headers, "transfer-encoding");
    if (codings.length !== 1 || codings[0] !== "chunked") {
      throw bad(
        `Transfer-Encoding "${te.join(", ")}" not supported (only chunked)`,
        codings.at(-1) === "chunked" ? 501 : 400,
      );
    }
    return { kind: "chunked" };
  }
  const length = contentLength(cl, 400);
  return length === undefined ? { kind: "none" } : { kind: "length", length };
}

/**
 * The framing of a response body to a request with `method` (RFC 9112 section 6.3). Ambiguous framing throws
 * (a proxy answers 502 rather than pass on a response it could read two ways).
 */
export function responseFraming(head: HttpResponseHead, method: string): BodyFraming {
  if (method === "HEAD" || (head.status >= 100 && head.status < 200) || head.status === 204 || head.status === 304) {
    return { kind: "none" };
  }
  const te = headerTokens(head.headers, "transfer-encoding");
  const cl = headerValues(head.headers, "content-length");
  if (te.length > 0) {
    if (cl.length > 0) throw bad("response has both Content-Length and Transfer-Encoding", 502);
    // RFC 9112 section 6.3: chunked last means chunked framing (whatever codings come before it, gzip say); no
    // chunked means the body ends with the connection. RFC 9112 section 6.1 forbids chunked anywhere else and twice.
    const chunkedAt = te.indexOf("chunked");
    if (chunkedAt !== -1 && (chunkedAt !== te.length - 1 || te.lastIndexOf("chunked") !== chunkedAt)) {
      throw bad(`Transfer-Encoding "${te.join(", ")}": chunked must be the last coding, once`, 502);
    }
    return chunkedAt === -1 ? { kind: "close" } : { kind: "chunked" };
  }
  const length = contentLength(cl, 502);
  return length === undefined ? { kind: "close" } : { kind: "length", length };
}

/**
 * The transfer codings of a response other than its chunked framing (`gzip` in `Transfer-Encoding: gzip,
 * chunked`), lower-cased, in the order applied. A proxy that decodes the chunked framing must keep these on the
 * message it sends on: they are part of the body's bytes, and only the final recipient removes them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { responseCodings } from "./http_framing.ts";
 * const head = { version: "HTTP/1.1" as const, status: 200, reason: "OK", headers: [
 *   { name: "Transfer-Encoding", value: "gzip, chunked" },
 * ] };
 * assert.deepEqual(responseCodings(head), ["gzip"]);
 * ```
 */
export function responseCodings(head: HttpResponseHead): string[] {
  return headerTokens(head.headers, "transfer-encoding").filter((coding) => coding !== "chunked");
}

const MAX_CHUNK_LINE = 4096;

/**
 * Decodes a chunk-size line (`1a;ext=1\r\n`) and returns the size; extensions are checked and dropped. Sizes above
 * 2^53 - 1, bare LF and control characters are refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeChunkSize } from "./http_framing.ts";
 * assert.deepEqual(decodeChunkSize(new TextEncoder().encode("1A\r\nabc")), { done: true, value: 26, consumed: 4 });
 * ```
 */
export function decodeChunkSize(bytes: Uint8Array): Decoded<number> {
  const lf = bytes.subarray(0, MAX_CHUNK_LINE).indexOf(0x0a);
  if (lf === -1) {
    if (bytes.length >= MAX_CHUNK_LINE) throw bad(`chunk-size line over ${MAX_CHUNK_LINE} bytes`, 400);
    return needMore(1);
  }
  if (lf === 0 || bytes[lf - 1] !== 0x0d) throw bad("bare LF in a chunk-size line", 400);
  const line = String.fromCharCode(...bytes.subarray(0, lf - 1));
  const m =
    /^([0-9A-Fa-f]{1,13})[ \t]*((?:;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e]|\\[\t\x20-\x7e])*"))?[ \t]*)*)$/
      .exec(line);
  if (!m) throw bad(`bad chunk-size line "${line.slice(0, 40)}"`, 400);
  return complete(parseInt(m[1], 16), lf + 1);
}

/** Decodes the CRLF that ends a chunk's data. */
export function decodeChunkEnd(bytes: Uint8Array): Decoded<true> {
  if (bytes.length < 2) {
    if (bytes.length === 1 && bytes[0] !== 0x0d) throw bad("chunk data not followed by CRLF", 400);
    return needMore(2 - bytes.length);
  }
  if (bytes[0] !== 0x0d || bytes[1] !== 0x0a) throw bad("chunk data not followed by CRLF", 400);
  return complete(true, 2);
}

/**
 * Encodes one chunk of the chunked coding (RFC 9112 section 7.1): the size in hex, CRLF, the data, CRLF. An empty
 * `data` gives the last chunk with an empty trailer section (`0\r\n\r\n`), which ends the body.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeChunk } from "./http_framing.ts";
 * const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
 * assert.equal(text(encodeChunk(new TextEncoder().encode("hello, world!!!!!!"))), "12\r\nhello, world!!!!!!\r\n");
 * assert.equal(text(encodeChunk(new Uint8Array(0))), "0\r\n\r\n");
 * ```
 */
export function encodeChunk(data: Uint8Array): Uint8Array {
  const size = data.length.toString(16);
  const out = new Uint8Array(size.length + 2 + data.length + 2);
  for (let i = 0; i < size.length; i++) out[i] = size.charCodeAt(i);
  out.set([0x0d, 0x0a], size.length);
  out.set(data, size.length + 2);
  out.set([0x0d, 0x0a], size.length + 2 + data.length);
  return out;
}
