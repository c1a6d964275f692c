/**
 * The PROXY protocol header a load balancer (HAProxy, Envoy, a cloud NLB) sends before the client's first byte, to
 * tell the server who the client really is (HAProxy's "The PROXY protocol", versions 1 and 2):
 *
 * - v1, text: `PROXY TCP4|TCP6 SRC DST SRCPORT DSTPORT\r\n` or `PROXY UNKNOWN ...\r\n`, at most 107 bytes;
 * - v2, binary: a 12-byte signature, version/command, family/transport, a 16-bit length, the addresses, then TLVs
 *   (read past: nothing here needs them). Commands PROXY and LOCAL; families TCP over IPv4 and IPv6, and UNSPEC.
 *
 * Every malformed form is a {@link SocksError} with code "bad-proxy-header".
 *
 * @module
 */
import { checkPort, ipv4FromBytes, ipv4ToBytes, ipv6FromBytes, ipv6ToBytes } from "./address.ts";
import { complete, type Decoded, needMore } from "./decoded.ts";
import { SocksError } from "./socks_error.ts";

/** The 12 bytes every v2 header starts with (section 2.2). */
export const PROXY_V2_SIGNATURE: Uint8Array = new Uint8Array([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
]);

/** The 6 bytes every v1 header starts with. */
const V1_PREFIX = new TextEncoder().encode("PROXY ");
/** Section 2.1: the longest v1 line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses and ports). */
export const PROXY_V1_MAX_LENGTH = 107;
const V2_HEADER_LENGTH = 16;

/** Constants of the v2 header (section 2.2). */
export const ProxyV2 = {
  Version: 0x2,
  CommandLocal: 0x0,
  CommandProxy: 0x1,
  FamilyUnspec: 0x0,
  FamilyInet: 0x1,
  FamilyInet6: 0x2,
  FamilyUnix: 0x3,
  TransportUnspec: 0x0,
  TransportStream: 0x1,
  TransportDgram: 0x2,
} as const;

/** An IP endpoint as a PROXY header carries it. */
export interface ProxyEndpoint {
  /** An IP literal, IPv6 without brackets. */
  readonly hostname: string;
  /** The TCP port. */
  readonly port: number;
}

/**
 * A decoded header. `source` and `destination` are present when the header names a TCP connection; they are absent
 * for v1 `UNKNOWN`, v2 `LOCAL` (the balancer's own health check) and v2 `UNSPEC`: then the connection's own
 * addresses stand.
 */
export interface ProxyHeader {
  /** 1: the text form; 2: the binary one. */
  readonly version: 1 | 2;
  /** "local": v2 LOCAL, the balancer speaking for itself. */
  readonly command: "proxy" | "local";
  /** The client, as the balancer saw it. */
  readonly source?: ProxyEndpoint;
  /** The address the client connected to (the balancer's frontend). */
  readonly destination?: ProxyEndpoint;
}

function malformed(message: string): SocksError {
  return new SocksError("bad-proxy-header", `PROXY header: ${message}`);
}

/** How many leading bytes of `bytes` agree with `expected` (stops at the first difference). */
function prefixMatch(bytes: Uint8Array, expected: Uint8Array): boolean {
  const n = Math.min(bytes.length, expected.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== expected[i]) return false;
  return true;
}

/**
 * Decodes a v1 or v2 PROXY header from the front of `bytes`; whatever follows it is the client's own data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeProxyHeader } from "./proxy_protocol.ts";
 * const line = new TextEncoder().encode("PROXY TCP4 192.0.2.7 198.51.100.1 40000 1080\r\n\x05");
 * const decoded = decodeProxyHeader(line);
 * assert.ok(decoded.done);
 * assert.deepEqual(decoded.value.source, { hostname: "192.0.2.7", port: 40000 });
 * assert.equal(decoded.consumed, line.length - 1);
 * ```
 */
export function decodeProxyHeader(bytes: Uint8Array): Decoded<ProxyHeader> {
  if (bytes.length === 0) return needMore(1);
  if (bytes[0] === V1_PREFIX[0]) return decodeV1(bytes);
  if (bytes[0] === PROXY_V2_SIGNATURE[0]) return decodeV2(bytes);
  throw malformed(`expected "PROXY " or the v2 signature, got first byte 0x${bytes[0].toString(16).padStart(2, "0")}`);
}

function decodeV1(bytes: Uint8Array): Decoded<ProxyHeader> {
  if (!prefixMatch(bytes, V1_PREFIX)) throw malformed('v1 line does not start with "PROXY "');
  const limit = Math.min(bytes.length, PROXY_V1_MAX_LENGTH);
  let end = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    if (bytes[i] === 0x0a) {
      if (bytes[i - 1] !== 0x0d) throw malformed("v1 line ends in LF without CR");
      end = i + 1;
      break;
    }
    // Only printable ASCII belongs in the line, and CR only right before LF.
    if (bytes[i] === 0x0d) {
      if (i + 1 < bytes.length && bytes[i + 1] !== 0x0a) throw malformed("v1 line holds a CR not followed by LF");
    } else if (bytes[i] < 0x20 || bytes[i] > 0x7e) {
      throw malformed(`v1 line holds byte 0x${hex(bytes[i])}`);
    }
  }
  if (end === -1) {
    if (bytes.length >= PROXY_V1_MAX_LENGTH) throw malformed(`v1 line longer than ${PROXY_V1_MAX_LENGTH} bytes`);
    return needMore(1);
  }
  const line = String.fromCharCode(...bytes.subarray(V1_PREFIX.length, end - 2));
  const fields = line.split(" ");
  const protocol = fields[0];
  if (protocol === "UNKNOWN") return complete({ version: 1, command: "proxy" }, end);
  if (protocol !== "TCP4" && protocol !== "TCP6") {
    throw malformed(`v1 protocol "${protocol}" is not TCP4, TCP6 or UNKNOWN`);
  }
  if (fields.length !== 5) {
    throw malformed(`v1 ${protocol} line needs 4 fields after the protocol, got ${fields.length - 1}`);
  }
  const [, src, dst, srcPort, dstPort] = fields;
  const parseIp = protocol === "TCP4" ? ipv4ToBytes : ipv6ToBytes;
  const format = protocol === "TCP4" ? ipv4FromBytes : ipv6FromBytes;
  const address = (text: string, what: string): string => {
    const parsed = parseIp(text);
    if (parsed === undefined) throw malformed(`v1 ${what} address "${text}" is no ${protocol} address`);
    return format(parsed);
  };
  return complete({
    version: 1,
    command: "proxy",
    source: { hostname: address(src, "source"), port: v1Port(srcPort, "source") },
    destination: { hostname: address(dst, "destination"), port: v1Port(dstPort, "destination") },
  }, end);
}

function v1Port(text: string, what: string): number {
  // Section 2.1: decimal, no leading zero (which some parsers would read as octal).
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) throw malformed(`v1 ${what} port "${text}" is not a decimal port`);
  try {
    return checkPort(Number(text));
  } catch {
    throw malformed(`v1 ${what} port ${text} is above 65535`);
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function decodeV2(bytes: Uint8Array): Decoded<ProxyHeader> {
  if (!prefixMatch(bytes, PROXY_V2_SIGNATURE)) throw malformed("v2 signature does not match");
  if (bytes.length < V2_HEADER_LENGTH) return needMore(V2_HEADER_LENGTH - bytes.length);
  const versionCommand = bytes[12];
  if (versionCommand >> 4 !== ProxyV2.Version) throw malformed(`v2 version ${versionCommand >> 4} is not 2`);
  const command = versionCommand & 0x0f;
  if (command !== ProxyV2.CommandLocal && command !== ProxyV2.CommandProxy) {
    throw malformed(`v2 command 0x${hex(command)} is neither LOCAL nor PROXY`);
  }
  const family = bytes[13] >> 4;
  const transport = bytes[13] & 0x0f;
  const length = (bytes[14] << 8) | bytes[15];
  const total = V2_HEADER_LENGTH + length;
  if (family > ProxyV2.FamilyUnix) throw malformed(`v2 address family 0x${hex(family)} is unknown`);
  if (transport > ProxyV2.TransportDgram) throw malformed(`v2 transport 0x${hex(transport)} is unknown`);
  if (bytes.length < total) return needMore(total - bytes.length);
  const block = bytes.subarray(V2_HEADER_LENGTH, total);
  // LOCAL: the balancer speaks for itself (a health check); the address block, whatever it holds, is skipped.
  if (command === ProxyV2.CommandLocal) return complete({ version: 2, command: "local" }, total);
  if (family === ProxyV2.FamilyUnspec) {
    readPastTlvs(block, 0);
    return complete({ version: 2, command: "proxy" }, total);
  }
  if (family === ProxyV2.FamilyUnix) throw malformed("v2 AF_UNIX addresses cannot stand for a TCP client");
  if (transport !== ProxyV2.TransportStream) throw malformed("v2 transport is not STREAM: a SOCKS client is TCP");
  const ipLength = family === ProxyV2.FamilyInet ? 4 : 16;
  const addressesLength = 2 * ipLength + 4;
  if (length < addressesLength) {
    throw malformed(`v2 length ${length} is shorter than the ${addressesLength} bytes of its addresses`);
  }
  const format = family === ProxyV2.FamilyInet ? ipv4FromBytes : ipv6FromBytes;
  const port = (at: number) => (block[at] << 8) | block[at + 1];
  readPastTlvs(block, addressesLength);
  return complete({
    version: 2,
    command: "proxy",
    source: { hostname: format(block.subarray(0, ipLength)), port: port(2 * ipLength) },
    destination: { hostname: format(block.subarray(ipLength, 2 * ipLength)), port: port(2 * ipLength + 2) },
  }, total);
}

/** Walks the TLVs after the addresses (section 2.2.7): each must fit in the block; their contents are not used. */
function readPastTlvs(block: Uint8Array, from: number): void {
  let at = from;
  while (at < block.length) {
    if (block.length - at < 3) throw malformed(`v2 TLV at offset ${at} is cut short (${block.length - at} bytes)`);
    const length = (block[at + 1] << 8) | block[at + 2];
    if (at + 3 + length > block.length) {
      throw malformed(`v2 TLV type 0x${hex(block[at])} of ${length} bytes runs past the header`);
    }
    at += 3 + length;
  }
}

/**
 * Whether `bytes` start a PROXY header (v1 or v2), consuming nothing: for a server that must refuse a header from a
 * peer it does not trust, before the bytes reach a parser that might wait for more (HTTP reads up to a blank line).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startsProxyHeader } from "./proxy_protocol.ts";
 * const result = startsProxyHeader(new TextEncoder().encode("PROXY TCP4 "));
 * assert.deepEqual(result, { done: true, value: true, consumed: 0 });
 * assert.deepEqual(startsProxyHeader(new TextEncoder().encode("POST / HTTP/1.1")), { done: true, value: false, consumed: 0 });
 * ```
 */
export function startsProxyHeader(bytes: Uint8Array): Decoded<boolean> {
  if (bytes.length === 0) return needMore(1);
  const signature = bytes[0] === V1_PREFIX[0]
    ? V1_PREFIX
    : bytes[0] === PROXY_V2_SIGNATURE[0]
    ? PROXY_V2_SIGNATURE
    : undefined;
  if (signature === undefined || !prefixMatch(bytes, signature)) return complete(false, 0);
  return bytes.length >= signature.length ? complete(true, 0) : needMore(signature.length - bytes.length);
}

/** What {@link encodeProxyHeader} writes. */
export interface ProxyHeaderToEncode {
  /** 1: the text form; 2: the binary one. */
  readonly version: 1 | 2;
  /** Absent: v1 `UNKNOWN` or v2 `LOCAL`. Both endpoints must be of the same family. */
  readonly source?: ProxyEndpoint;
  /** The address the client connected to; given with `source`. */
  readonly destination?: ProxyEndpoint;
  /** v2 only: TLVs to append, each `[type, value]`. */
  readonly tlvs?: readonly (readonly [number, Uint8Array])[];
}

/**
 * Encodes a PROXY header (what a balancer sends; tabi's tests and its client side use it). Throws on endpoints
 * that are not IP literals of one family.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeProxyHeader, encodeProxyHeader } from "./proxy_protocol.ts";
 * const source = { hostname: "2001:db8::7", port: 40000 };
 * const bytes = encodeProxyHeader({ version: 2, source, destination: { hostname: "2001:db8::1", port: 1080 } });
 * const decoded = decodeProxyHeader(bytes);
 * assert.ok(decoded.done);
 * assert.deepEqual(decoded.value.source, source);
 * ```
 */
export function encodeProxyHeader(header: ProxyHeaderToEncode): Uint8Array {
  const { source, destination } = header;
  if ((source === undefined) !== (destination === undefined)) {
    throw new SocksError("bad-field", "PROXY header: give both source and destination, or neither");
  }
  const ips = source && destination ? [ipv4ToBytes(source.hostname), ipv4ToBytes(destination.hostname)] : undefined;
  const v6 = source && destination ? [ipv6ToBytes(source.hostname), ipv6ToBytes(destination.hostname)] : undefined;
  const family = ips?.[0] && ips[1] ? 4 : v6?.[0] && v6[1] ? 6 : undefined;
  if (source && family === undefined) {
    throw new SocksError("bad-field", "PROXY header: source and destination must be IP literals of one family");
  }
  if (source) checkPort(source.port);
  if (destination) checkPort(destination.port);
  if (header.version === 1) {
    const text = source && destination
      ? `PROXY TCP${family} ${source.hostname} ${destination.hostname} ${source.port} ${destination.port}\r\n`
      : "PROXY UNKNOWN\r\n";
    return new TextEncoder().encode(text);
  }
  const empty = new Uint8Array();
  const [src, dst] = (family === 4 ? ips! : family === 6 ? v6! : [empty, empty]).map((b) => b ?? empty);
  const addresses = source ? src.length + dst.length + 4 : 0;
  const tlvLength = (header.tlvs ?? []).reduce((n, [, value]) => n + 3 + value.length, 0);
  const length = addresses + tlvLength;
  if (length > 0xffff) throw new SocksError("too-long", "PROXY header: more than 65535 bytes after the header");
  const out = new Uint8Array(V2_HEADER_LENGTH + length);
  out.set(PROXY_V2_SIGNATURE);
  out[12] = (ProxyV2.Version << 4) | (source ? ProxyV2.CommandProxy : ProxyV2.CommandLocal);
  out[13] = source ? ((family === 4 ? ProxyV2.FamilyInet : ProxyV2.FamilyInet6) << 4) | ProxyV2.TransportStream : 0;
  out[14] = length >> 8;
  out[15] = length & 0xff;
  let at = V2_HEADER_LENGTH;
  if (source && destination) {
    out.set(src, at);
    out.set(dst, at + src.length);
    at += src.length + dst.length;
    out[at++] = source.port >> 8;
    out[at++] = source.port & 0xff;
    out[at++] = destination.port >> 8;
    out[at++] = destination.port & 0xff;
  }
  for (const [type, value] of header.tlvs ?? []) {
    out[at] = type;
    out[at + 1] = value.length >> 8;
    out[at + 2] = value.length & 0xff;
    out.set(value, at + 3);
    at += 3 + value.length;
  }
  return out;
}
