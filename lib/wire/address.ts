/**
 * Addresses as SOCKS carries them: an IPv4 address, an IPv6 address or a domain name, with a port. Text forms are
 * parsed strictly and formatted canonically (IPv6 per RFC 5952, IPv4-mapped IPv6 as `::ffff:a.b.c.d`).
 *
 * @module
 */
import { MAX_FIELD_LENGTH } from "./constants.ts";
import { SocksError } from "./socks_error.ts";

/** An IPv4 address in dotted-quad form, e.g. `127.0.0.1`. */
export interface Ipv4Address {
  /** The kind of address. */
  readonly type: "ipv4";
  /** The dotted quad. */
  readonly host: string;
}
/** An IPv6 address in RFC 5952 canonical form, e.g. `::1`, without brackets. */
export interface Ipv6Address {
  /** The kind of address. */
  readonly type: "ipv6";
  /** The canonical text, without brackets. */
  readonly host: string;
}
/** A domain name, 1-255 bytes of UTF-8 with no NUL, resolved by whoever the protocol says. */
export interface DomainAddress {
  /** The kind of address. */
  readonly type: "domain";
  /** The name. */
  readonly host: string;
}
/** An address as SOCKS carries it. */
export type Address = Ipv4Address | Ipv6Address | DomainAddress;

/** An address and a port: a destination, a bound address, a peer. */
export interface HostPort {
  /** The address. */
  readonly address: Address;
  /** The port, 0-65535. */
  readonly port: number;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Throws unless `port` is an integer 0-65535.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPort } from "./address.ts";
 * assert.equal(checkPort(1080), 1080);
 * assert.throws(() => checkPort(65536), { code: "bad-port" });
 * ```
 */
export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SocksError("bad-port", `port ${port} is not an integer from 0 to 65535`);
  }
  return port;
}

/**
 * Parses a strict dotted-quad IPv4 address (no leading zeros, no shorthand) to 4 bytes, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipv4ToBytes } from "./address.ts";
 * assert.deepEqual(ipv4ToBytes("192.168.0.1"), new Uint8Array([192, 168, 0, 1]));
 * // Leading zeros are octal to inet_aton: refused rather than guessed.
 * assert.equal(ipv4ToBytes("010.0.0.1"), undefined);
 * ```
 */
export function ipv4ToBytes(text: string): Uint8Array | undefined {
  // A scan of character codes, not split() and a regular expression per part: every CONNECT reply encodes an
  // address, and a server encodes thousands a second.
  const bytes = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (code === 0x2e) {
      // "." (or the end): a part of 1 to 3 digits; leading zeros are refused, since inet_aton reads them as octal.
      if (digits === 0 || part === 4 || value > 255) return undefined;
      bytes[part++] = value;
      value = 0;
      digits = 0;
    } else if (code >= 0x30 && code <= 0x39) {
      if (digits === 3 || (digits === 1 && value === 0)) return undefined;
      value = value * 10 + code - 0x30;
      digits++;
    } else {
      return undefined;
    }
  }
  return part === 4 ? bytes : undefined;
}

/**
 * Formats 4 bytes as a dotted quad.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipv4FromBytes } from "./address.ts";
 * assert.equal(ipv4FromBytes(new Uint8Array([127, 0, 0, 1])), "127.0.0.1");
 * ```
 */
export function ipv4FromBytes(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/**
 * Parses an IPv6 address (any valid RFC 4291 text form, no brackets, no zone) to 16 bytes, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipv6ToBytes } from "./address.ts";
 * const bytes = ipv6ToBytes("::ffff:10.0.0.1")!;
 * assert.deepEqual([...bytes.subarray(10)], [0xff, 0xff, 10, 0, 0, 1]);
 * assert.equal(ipv6ToBytes("1::2::3"), undefined);
 * ```
 */
export function ipv6ToBytes(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  let head = text;
  const tail: number[] = [];
  // An embedded IPv4 address in the last 32 bits (e.g. ::ffff:1.2.3.4).
  const lastColon = text.lastIndexOf(":");
  if (text.indexOf(".", lastColon) !== -1) {
    const v4 = ipv4ToBytes(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(":") && !head.endsWith("::")) head = head.slice(0, -1);
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups: number[] = [];
    for (const group of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
      groups.push(parseInt(group, 16));
    }
    return groups;
  };
  const left = parseGroups(halves[0]);
  const right = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (left === undefined || right === undefined) return undefined;
  const explicit = left.length + right.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    // "::" stands for at least one group of zeros (RFC 4291 section 2.2).
    if (explicit > 7) return undefined;
    groups = [...left, ...new Array<number>(8 - explicit).fill(0), ...right, ...tail];
  } else {
    if (explicit !== 8) return undefined;
    groups = [...left, ...tail];
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * Formats 16 bytes as RFC 5952 canonical IPv6 text: lowercase, longest zero run compressed, IPv4-mapped dotted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipv6FromBytes } from "./address.ts";
 * const bytes = new Uint8Array(16);
 * bytes[0] = 0x20;
 * bytes[1] = 0x01;
 * bytes[15] = 1;
 * assert.equal(ipv6FromBytes(bytes), "2001::1");
 * ```
 */
export function ipv6FromBytes(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // RFC 5952 section 5: ::ffff:0:0/96 is written with the IPv4 part dotted.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${ipv4FromBytes(bytes.subarray(12, 16))}`;
  }
  // RFC 5952 section 4.2: the longest run of two or more zero groups (the first on a tie) becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/**
 * Encodes a domain name to bytes, checking the SOCKS limits: 1-255 bytes, no NUL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { domainToBytes } from "./address.ts";
 * assert.deepEqual(domainToBytes("a.io"), new TextEncoder().encode("a.io"));
 * assert.throws(() => domainToBytes("x".repeat(256)), { code: "too-long" });
 * ```
 */
export function domainToBytes(host: string, maxLength: number = MAX_FIELD_LENGTH): Uint8Array {
  const bytes = encoder.encode(host);
  if (bytes.length === 0) throw new SocksError("bad-address", "domain name is empty");
  if (bytes.length > maxLength) {
    throw new SocksError("too-long", `domain name is ${bytes.length} bytes, longer than ${maxLength}`);
  }
  if (bytes.includes(0)) throw new SocksError("bad-address", "domain name contains a NUL byte");
  return bytes;
}

/**
 * Decodes domain-name bytes (strict UTF-8, 1-255 bytes, no NUL); throws with `reply` on malformed input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { domainFromBytes } from "./address.ts";
 * assert.equal(domainFromBytes(new TextEncoder().encode("例え.jp")), "例え.jp");
 * // Invalid UTF-8 is refused, with the reply code the caller asked for.
 * assert.throws(() => domainFromBytes(new Uint8Array([0xff]), 0x01), { code: "bad-address", reply: 0x01 });
 * ```
 */
export function domainFromBytes(bytes: Uint8Array, reply?: number): string {
  if (bytes.length === 0) throw new SocksError("bad-address", "domain name is empty", { reply });
  if (bytes.includes(0)) throw new SocksError("bad-address", "domain name contains a NUL byte", { reply });
  try {
    return strictDecoder.decode(bytes);
  } catch (cause) {
    throw new SocksError("bad-address", "domain name is not valid UTF-8", { reply, cause });
  }
}

/**
 * Parses the text form of an address: an IPv4 dotted quad, an IPv6 address (bare or in brackets) or a domain name.
 * IP addresses come back in canonical form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAddress } from "./address.ts";
 * assert.deepEqual(parseAddress("[0:0:0:0:0:0:0:1]"), { type: "ipv6", host: "::1" });
 * assert.deepEqual(parseAddress("example.com"), { type: "domain", host: "example.com" });
 * ```
 */
export function parseAddress(text: string): Address {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v4 = ipv4ToBytes(bare);
  if (v4 !== undefined && bare === text) return { type: "ipv4", host: ipv4FromBytes(v4) };
  if (bare.includes(":")) {
    const v6 = ipv6ToBytes(bare);
    if (v6 === undefined) throw new SocksError("bad-address", `"${text}" is not a valid IPv6 address`);
    return { type: "ipv6", host: ipv6FromBytes(v6) };
  }
  if (bare !== text) throw new SocksError("bad-address", `"${text}": only IPv6 addresses go in brackets`);
  if (/^[0-9.]+$/.test(text)) throw new SocksError("bad-address", `"${text}" is not a valid IPv4 address`);
  domainToBytes(text);
  return { type: "domain", host: text };
}

/**
 * Parses `host:port`, `[ipv6]:port`, or a host alone when `defaultPort` is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseHostPort } from "./address.ts";
 * assert.deepEqual(parseHostPort("[::1]:1080"), { address: { type: "ipv6", host: "::1" }, port: 1080 });
 * assert.deepEqual(parseHostPort("localhost", 1080), { address: { type: "domain", host: "localhost" }, port: 1080 });
 * ```
 */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  let host = text;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1) throw new SocksError("bad-address", `"${text}": missing "]"`);
    host = text.slice(0, close + 1);
    const rest = text.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) throw new SocksError("bad-address", `"${text}": expected ":port" after "]"`);
      portText = rest.slice(1);
    }
  } else {
    const colon = text.lastIndexOf(":");
    // A bare IPv6 address has several colons and no port: only accept it when a default port is given.
    if (colon !== -1 && text.indexOf(":") === colon) {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    }
  }
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) throw new SocksError("bad-port", `"${text}": no port given`);
    port = defaultPort;
  } else {
    if (!/^[0-9]{1,5}$/.test(portText)) throw new SocksError("bad-port", `"${text}": "${portText}" is not a port`);
    port = Number(portText);
  }
  return { address: parseAddress(host), port: checkPort(port) };
}

/**
 * Formats an address for a URL or a log: IPv6 in brackets, others as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatAddress } from "./address.ts";
 * assert.equal(formatAddress({ type: "ipv6", host: "::1" }), "[::1]");
 * assert.equal(formatAddress({ type: "domain", host: "example.org" }), "example.org");
 * ```
 */
export function formatAddress(address: Address): string {
  return address.type === "ipv6" ? `[${address.host}]` : address.host;
}

/**
 * Formats `host:port`, with IPv6 in brackets: `[::1]:1080`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatHostPort } from "./address.ts";
 * assert.equal(formatHostPort({ address: { type: "ipv6", host: "::1" }, port: 1080 }), "[::1]:1080");
 * assert.equal(formatHostPort({ address: { type: "ipv4", host: "10.0.0.1" }, port: 80 }), "10.0.0.1:80");
 * ```
 */
export function formatHostPort(hostPort: HostPort): string {
  return `${formatAddress(hostPort.address)}:${hostPort.port}`;
}
