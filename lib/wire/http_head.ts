/**
 * HTTP/1.1 message heads (RFC 9112): a strict incremental decoder for request and response heads, and an encoder.
 * Strict on purpose, because a proxy that reads a message differently from the server behind it is what request
 * smuggling relies on: bare LF, a CR not followed by LF, obsolete line folding, whitespace before a header's colon,
 * control characters, and a head over {@link HTTP_HEAD_LIMIT} are all refused, never repaired.
 *
 * Text is decoded as Latin-1, so every byte of a field value (obs-text included) survives a round trip.
 *
 * @module
 */
import { complete, type Decoded, type Decoder, needMore } from "./decoded.ts";
import { SocksError } from "./socks_error.ts";

/** The largest head accepted, request line and headers included (64 KiB); a longer one is answered 431. */
export const HTTP_HEAD_LIMIT = 65536;

/** One header field as it was sent (name case kept). */
export interface HttpHeader {
  readonly name: string;
  readonly value: string;
}

/** A request head. */
export interface HttpRequestHead {
  readonly method: string;
  /** The request-target as sent: absolute-form, authority-form (CONNECT), origin-form or `*`. */
  readonly target: string;
  readonly version: "HTTP/1.0" | "HTTP/1.1";
  readonly headers: readonly HttpHeader[];
}

/** A response head. */
export interface HttpResponseHead {
  readonly version: "HTTP/1.0" | "HTTP/1.1";
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly HttpHeader[];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, SP and HTAB; no other control character (RFC 9110 section 5.5).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^[\x21-\x7e]+$/;
const VERSION = /^HTTP\/([0-9])\.([0-9])$/;

/** The error a malformed head raises: `reply` is the HTTP status to answer with. */
function malformed(why: string, status = 400): SocksError {
  return new SocksError(status === 431 ? "too-long" : "bad-field", why, { reply: status });
}

/**
 * Finds the end of a head (just past CRLFCRLF) scanning from `from`, checking every line ending on the way; -1 when
 * not there yet. The caller keeps `from` between calls, so a head dripped in byte by byte is scanned once.
 */
function headEnd(bytes: Uint8Array, from: number, limit: number): number {
  const scan = Math.min(bytes.length, limit);
  for (let i = from; i < scan; i++) {
    const b = bytes[i];
    if (b === 0x0a) {
      if (i === 0 || bytes[i - 1] !== 0x0d) throw malformed("bare LF in the message head (lines must end with CRLF)");
      if (i >= 3 && bytes[i - 2] === 0x0a && bytes[i - 3] === 0x0d) return i + 1;
    } else if (b === 0x0d && i + 1 < bytes.length && bytes[i + 1] !== 0x0a) {
      throw malformed("CR not followed by LF in the message head");
    }
  }
  if (bytes.length >= limit) throw malformed(`message head over ${limit} bytes`, 431);
  return -1;
}

function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

/**
 * A field value without the whitespace around it (RFC 9110 section 5.5). A loop, not `/[ \t]+$/`: that regex tries
 * every blank of an inner run as the start of the trailing one, so a 64 KiB head of blanks cost seconds of CPU.
 */
function trimWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text[start] === " " || text[start] === "\t")) start++;
  while (end > start && (text[end - 1] === " " || text[end - 1] === "\t")) end--;
  return text.slice(start, end);
}

/** Parses the header lines of a head (everything after the start line). */
function parseHeaders(lines: readonly string[]): HttpHeader[] {
  return lines.map((line) => {
    if (line.startsWith(" ") || line.startsWith("\t")) {
      throw malformed("obsolete line folding (a header line starting with whitespace)");
    }
    const colon = line.indexOf(":");
    if (colon <= 0) throw malformed(`header line without a name and a colon: "${line.slice(0, 40)}"`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw malformed(`bad header name "${name.slice(0, 40)}" (no whitespace before ":")`);
    const value = trimWhitespace(line.slice(colon + 1));
    if (!FIELD_VALUE.test(value)) throw malformed(`control character in header ${name}`);
    return { name, value };
  });
}

function parseVersion(text: string): "HTTP/1.0" | "HTTP/1.1" {
  const m = VERSION.exec(text);
  if (!m) throw malformed(`bad HTTP version "${text.slice(0, 20)}"`);
  if (text !== "HTTP/1.1" && text !== "HTTP/1.0") throw malformed(`HTTP version ${text} not supported`, 505);
  return text;
}

/**
 * A stateful head splitter for one message: the buffer only grows at its end while a head is read, so what was
 * scanned already is not scanned again. Skips the empty lines RFC 9112 section 2.2 lets a client send first.
 */
function headSplitter(limit: number): (bytes: Uint8Array) => { lines: string[]; consumed: number } | undefined {
  let start = 0;
  let scanned = 0;
  return (bytes) => {
    if (scanned === 0) {
      while (start < 8 && bytes[start] === 0x0d && bytes[start + 1] === 0x0a) start += 2;
      // Nothing but (part of) empty lines yet: nothing to judge.
      if (bytes.length - start === 0 || (bytes.length - start === 1 && bytes[start] === 0x0d)) return undefined;
    }
    const view = bytes.subarray(start);
    const end = headEnd(view, Math.max(0, scanned - 3), limit);
    if (end === -1) {
      scanned = Math.max(scanned, Math.min(view.length, limit));
      return undefined;
    }
    const lines = latin1(view.subarray(0, end - 4)).split("\r\n");
    return { lines, consumed: start + end };
  };
}

/**
 * Decodes a request head from the front of `bytes`; throws a SocksError whose `reply` is the status to answer
 * (400, 431 or 505).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeHttpRequestHead } from "./http_head.ts";
 * const bytes = new TextEncoder().encode("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
 * const result = decodeHttpRequestHead(bytes);
 * assert.ok(result.done);
 * assert.equal(result.value.target, "http://example.com/");
 * assert.throws(() => decodeHttpRequestHead(new TextEncoder().encode("GET / HTTP/1.1\nHost: x\n\n")), { reply: 400 });
 * ```
 */
export function decodeHttpRequestHead(bytes: Uint8Array, limit: number = HTTP_HEAD_LIMIT): Decoded<HttpRequestHead> {
  return httpRequestHeadDecoder(limit)(bytes);
}

/** A request-head decoder for one message that remembers how far it scanned (see {@link decodeHttpRequestHead}). */
export function httpRequestHeadDecoder(limit: number = HTTP_HEAD_LIMIT): Decoder<HttpRequestHead> {
  const split = headSplitter(limit);
  return (bytes) => {
    const head = split(bytes);
    if (head !== undefined) return requestFrom(head.lines, head.consumed);
    judgeMethodSoFar(bytes);
    return needMore(1);
  };
}

/** How far into a head still being read the method is judged: no registered method is anywhere near as long. */
const METHOD_JUDGED_WITHIN = 64;

/**
 * Judges the method of a request line still being read, so that bytes that cannot start an HTTP request (a TLS
 * hello, an RFC 1929 message, binary noise) are answered at once, not when the handshake timeout ends a wait for a
 * CRLF that never comes. Only the first bytes are looked at: a head dripped in byte by byte costs no rescans.
 */
function judgeMethodSoFar(bytes: Uint8Array): void {
  let from = 0;
  // The empty lines a client may send first (as headSplitter skips them).
  while (from < 8 && bytes[from] === 0x0d && bytes[from + 1] === 0x0a) from += 2;
  const end = Math.min(bytes.length, from + METHOD_JUDGED_WITHIN);
  for (let i = from; i < end; i++) {
    const byte = bytes[i];
    if (byte === 0x20 && i > from) return;
    // A lone CR at the very end may be the first half of an empty line.
    if (byte === 0x0d && i === from && i === bytes.length - 1) return;
    if (byte >= 0x80 || !TOKEN.test(String.fromCharCode(byte))) {
      throw malformed(`bad method: byte 0x${byte.toString(16).padStart(2, "0")} cannot start an HTTP request line`);
    }
  }
}

function requestFrom(lines: string[], consumed: number): Decoded<HttpRequestHead> {
  const head = { lines, consumed };
  const [start, ...rest] = head.lines;
  const parts = start.split(" ");
  if (parts.length !== 3) throw malformed(`bad request line "${start.slice(0, 80)}"`);
  const [method, target, version] = parts;
  if (!TOKEN.test(method)) throw malformed(`bad method "${method.slice(0, 20)}"`);
  if (!TARGET.test(target)) throw malformed("bad request target");
  return complete({ method, target, version: parseVersion(version), headers: parseHeaders(rest) }, head.consumed);
}

/** Decodes a response head from the front of `bytes`; a malformed one throws (a proxy answers it with 502). */
export function decodeHttpResponseHead(
  bytes: Uint8Array,
  limit: number = HTTP_HEAD_LIMIT,
): Decoded<HttpResponseHead> {
  return httpResponseHeadDecoder(limit)(bytes);
}

/** A response-head decoder for one message that remembers how far it scanned. */
export function httpResponseHeadDecoder(limit: number = HTTP_HEAD_LIMIT): Decoder<HttpResponseHead> {
  const split = headSplitter(limit);
  return (bytes) => {
    const head = split(bytes);
    if (head === undefined) return needMore(1);
    return responseFrom(head.lines, head.consumed);
  };
}

function responseFrom(lines: string[], consumed: number): Decoded<HttpResponseHead> {
  const head = { lines, consumed };
  const [start, ...rest] = head.lines;
  const m = /^(HTTP\/[0-9]\.[0-9]) ([0-9]{3})(?: (.*))?$/.exec(start);
  if (!m || !FIELD_VALUE.test(m[3] ?? "")) throw malformed(`bad status line "${start.slice(0, 80)}"`);
  const version = parseVersion(m[1]);
  return complete({ version, status: Number(m[2]), reason: m[3] ?? "", headers: parseHeaders(rest) }, head.consumed);
}

/** Encodes a head: the start line, then each header, then the empty line; Latin-1, like the decoders. */
export function encodeHttpHead(startLine: string, headers: readonly HttpHeader[]): Uint8Array {
  const text = `${startLine}\r\n${headers.map((h) => `${h.name}: ${h.value}\r\n`).join("")}\r\n`;
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/**
 * Encodes a request head (the request line, the headers, the empty line), refusing what the decoder would refuse:
 * a method that is not a token, a target with spaces or controls, a header name that is not a token, a value with
 * a control character (CR and LF among them, which would split the head: RFC 9112 section 2.2). The one encoder a
 * client uses, so what it sends is what {@link decodeHttpRequestHead} reads back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeHttpRequestHead, encodeHttpRequestHead } from "./http_head.ts";
 * const head = { method: "GET", target: "/", version: "HTTP/1.1" as const, headers: [{ name: "Host", value: "a" }] };
 * const decoded = decodeHttpRequestHead(encodeHttpRequestHead(head));
 * assert.ok(decoded.done);
 * assert.deepEqual(decoded.value, head);
 * assert.throws(() => encodeHttpRequestHead({ ...head, headers: [{ name: "X", value: "a\r\nB: c" }] }));
 * ```
 */
export function encodeHttpRequestHead(head: HttpRequestHead): Uint8Array {
  if (!TOKEN.test(head.method)) throw malformed(`bad method "${head.method.slice(0, 20)}"`);
  if (!TARGET.test(head.target)) throw malformed("bad request target");
  for (const { name, value } of head.headers) {
    if (!TOKEN.test(name)) throw malformed(`bad header name "${name.slice(0, 40)}"`);
    if (!FIELD_VALUE.test(value) || /^[ \t]|[ \t]$/.test(value)) {
      throw malformed(`bad value for header ${name} (a control character, or whitespace at either end)`);
    }
  }
  return encodeHttpHead(`${head.method} ${head.target} ${head.version}`, head.headers);
}

/** Every value of the headers named `name` (case-insensitive), in order. */
export function headerValues(headers: readonly HttpHeader[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter((h) => h.name.toLowerCase() === lower).map((h) => h.value);
}

/** The comma-separated list elements of the headers named `name`, lower-cased, empty elements dropped. */
export function headerTokens(headers: readonly HttpHeader[], name: string): string[] {
  return headerValues(headers, name).flatMap((v) => v.split(",")).map((t) => t.trim().toLowerCase()).filter((t) =>
    t !== ""
  );
}

/**
 * A decoder for the trailer section after a chunked body's last chunk (RFC 9112 section 7.1.2): header lines up to
 * an empty line, held to the same strictness and limit as a head. The fields are returned; a proxy drops them.
 */
export function httpTrailerDecoder(limit: number = HTTP_HEAD_LIMIT): Decoder<HttpHeader[]> {
  let scanned = 0;
  return (bytes) => {
    if (bytes.length < 2) return needMore(2 - bytes.length);
    if (bytes[0] === 0x0d && bytes[1] === 0x0a) return complete([], 2);
    const end = headEnd(bytes, Math.max(0, scanned - 3), limit);
    if (end === -1) {
      scanned = Math.min(bytes.length, limit);
      return needMore(1);
    }
    return complete(parseHeaders(latin1(bytes.subarray(0, end - 4)).split("\r\n")), end);
  };
}
