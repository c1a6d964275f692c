/**
 * SOCKS4 and SOCKS4a requests and replies ("SOCKS: A protocol for TCP proxy across firewalls", and the SOCKS4a
 * extension): `VN CD DSTPORT DSTIP USERID NUL`, with `DSTIP = 0.0.0.x (x != 0)` and `HOSTNAME NUL` after the USERID
 * in SOCKS4a. Replies are `VN=0 CD DSTPORT DSTIP`.
 *
 * @module
 */
import {
  type DomainAddress,
  domainFromBytes,
  domainToBytes,
  type HostPort,
  ipv4FromBytes,
  ipv4ToBytes,
} from "./address.ts";
import { checkPort, type Ipv4Address } from "./address.ts";
import {
  MAX_SOCKS4_FIELD_LENGTH,
  SOCKS4_REPLY_VERSION,
  Socks4Command,
  type Socks4CommandCode,
  Socks4Reply,
  type Socks4ReplyCode,
  SocksVersion,
} from "./constants.ts";
import { complete, type Decoded, needMore } from "./decoded.ts";
import { SocksError } from "./socks_error.ts";

/** A SOCKS4 or SOCKS4a request. A `domain` destination is SOCKS4a; an `ipv4` one is plain SOCKS4. */
export interface Socks4Request {
  /** CONNECT (1) or BIND (2). */
  readonly command: Socks4CommandCode;
  /** Where to connect, or (BIND) the peer expected. */
  readonly destination: { readonly address: Ipv4Address | DomainAddress; readonly port: number };
  /** The USERID field: any bytes but NUL, read as UTF-8 (invalid sequences become U+FFFD). */
  readonly userId: string;
}

/** A SOCKS4 reply: a code and, for CONNECT and BIND, an IPv4 address and port. */
export interface Socks4ReplyMessage {
  /** The CD field: 90 granted, 91-93 refused. */
  readonly reply: Socks4ReplyCode;
  /** The DSTIP and DSTPORT fields: the bound address (BIND) or what the server chose to say. */
  readonly bound: { readonly address: Ipv4Address; readonly port: number };
}

const encoder = new TextEncoder();
const lenientDecoder = new TextDecoder("utf-8");
const REQUEST_HEADER_LENGTH = 8;
const REPLY_LENGTH = 8;
/** The DSTIP a SOCKS4a client sends to say "a hostname follows": 0.0.0.x with x != 0; we send x = 1. */
const SOCKS4A_MARKER = new Uint8Array([0, 0, 0, 1]);

/**
 * True when the 4 DSTIP bytes are 0.0.0.x with x != 0, the SOCKS4a marker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSocks4aMarker } from "./socks4.ts";
 * assert.equal(isSocks4aMarker(new Uint8Array([0, 0, 0, 1])), true);
 * assert.equal(isSocks4aMarker(new Uint8Array([0, 0, 0, 0])), false);
 * assert.equal(isSocks4aMarker(new Uint8Array([10, 0, 0, 1])), false);
 * ```
 */
export function isSocks4aMarker(ip: Uint8Array): boolean {
  return ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0;
}

/**
 * Encodes a SOCKS4 or SOCKS4a request. Throws on a port out of range, an IPv6 destination (SOCKS4 cannot carry
 * one), a NUL in the USERID, or a field longer than 255 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSocks4Request } from "./socks4.ts";
 * const bytes = encodeSocks4Request({
 *   command: 1,
 *   destination: { address: { type: "ipv4", host: "66.102.7.99" }, port: 80 },
 *   userId: "Fred",
 * });
 * assert.deepEqual([...bytes], [4, 1, 0, 80, 66, 102, 7, 99, 70, 114, 101, 100, 0]);
 * ```
 */
export function encodeSocks4Request(request: Socks4Request): Uint8Array {
  const { command, destination, userId } = request;
  if (command !== Socks4Command.Connect && command !== Socks4Command.Bind) {
    throw new SocksError("bad-command", `SOCKS4 has no command ${command}`);
  }
  const port = checkPort(destination.port);
  const user = encoder.encode(userId);
  if (user.includes(0)) throw new SocksError("bad-field", "SOCKS4 USERID contains a NUL byte");
  if (user.length > MAX_SOCKS4_FIELD_LENGTH) {
    throw new SocksError("too-long", `SOCKS4 USERID is ${user.length} bytes, longer than ${MAX_SOCKS4_FIELD_LENGTH}`);
  }
  const address = destination.address as Ipv4Address | DomainAddress | { type: "ipv6" };
  let ip: Uint8Array;
  let host: Uint8Array | undefined;
  if (address.type === "ipv4") {
    const parsed = ipv4ToBytes(address.host);
    if (parsed === undefined) throw new SocksError("bad-address", `"${address.host}" is not an IPv4 address`);
    // 0.0.0.x with x != 0 is SOCKS4a's "a name follows" marker: as an address it would be read as a name request.
    if (parsed[0] === 0 && parsed[1] === 0 && parsed[2] === 0 && parsed[3] !== 0) {
      throw new SocksError("bad-address", `${address.host} is SOCKS4a's name marker and cannot be sent as an address`);
    }
    ip = parsed;
  } else if (address.type === "domain") {
    ip = SOCKS4A_MARKER;
    host = domainToBytes(address.host, MAX_SOCKS4_FIELD_LENGTH);
  } else {
    throw new SocksError("bad-address-type", "SOCKS4 cannot carry an IPv6 address");
  }
  const out = new Uint8Array(REQUEST_HEADER_LENGTH + user.length + 1 + (host ? host.length + 1 : 0));
  out[0] = SocksVersion.Socks4;
  out[1] = command;
  out[2] = port >> 8;
  out[3] = port & 0xff;
  out.set(ip, 4);
  out.set(user, REQUEST_HEADER_LENGTH);
  if (host) out.set(host, REQUEST_HEADER_LENGTH + user.length + 1);
  return out;
}

/**
 * Decodes a SOCKS4 or SOCKS4a request from the front of `bytes`, never reading past its final NUL. Malformed
 * input throws a SocksError whose `reply` is 91 (request rejected).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSocks4Request } from "./socks4.ts";
 * const result = decodeSocks4Request(new Uint8Array([4, 1, 0, 80, 0, 0, 0, 1, 0, 0x61, 0x2e, 0x62, 0]));
 * assert.ok(result.done);
 * assert.deepEqual(result.value.destination.address, { type: "domain", host: "a.b" });
 * assert.equal(result.consumed, 13);
 * ```
 */
export function decodeSocks4Request(bytes: Uint8Array): Decoded<Socks4Request> {
  const reply = Socks4Reply.Rejected;
  if (bytes.length < 1) return needMore(REQUEST_HEADER_LENGTH + 1);
  if (bytes[0] !== SocksVersion.Socks4) {
    throw new SocksError("bad-version", `SOCKS4 request has version ${bytes[0]}, not 4`, { reply });
  }
  if (bytes.length < 2) return needMore(REQUEST_HEADER_LENGTH + 1 - bytes.length);
  const command = bytes[1];
  if (command !== Socks4Command.Connect && command !== Socks4Command.Bind) {
    throw new SocksError("bad-command", `SOCKS4 command ${command} is neither CONNECT (1) nor BIND (2)`, { reply });
  }
  if (bytes.length < REQUEST_HEADER_LENGTH + 1) return needMore(REQUEST_HEADER_LENGTH + 1 - bytes.length);
  const port = (bytes[2] << 8) | bytes[3];
  const ip = bytes.subarray(4, 8);
  const userEnd = findNul(bytes, REQUEST_HEADER_LENGTH, "USERID", reply);
  if (userEnd === -1) return needMore(1);
  const userId = lenientDecoder.decode(bytes.subarray(REQUEST_HEADER_LENGTH, userEnd));
  if (!isSocks4aMarker(ip)) {
    const address: Ipv4Address = { type: "ipv4", host: ipv4FromBytes(ip) };
    return complete({ command, destination: { address, port }, userId }, userEnd + 1);
  }
  const hostEnd = findNul(bytes, userEnd + 1, "SOCKS4a hostname", reply);
  if (hostEnd === -1) return needMore(1);
  const host = domainFromBytes(bytes.subarray(userEnd + 1, hostEnd), reply);
  return complete({ command, destination: { address: { type: "domain", host }, port }, userId }, hostEnd + 1);
}

/** The index of the NUL ending a field that starts at `start`, -1 if not arrived yet; throws past the limit. */
function findNul(bytes: Uint8Array, start: number, field: string, reply: number): number {
  const limit = Math.min(bytes.length, start + MAX_SOCKS4_FIELD_LENGTH + 1);
  const end = bytes.subarray(start, limit).indexOf(0);
  if (end !== -1) return start + end;
  if (limit - start > MAX_SOCKS4_FIELD_LENGTH) {
    throw new SocksError("too-long", `SOCKS4 ${field} is longer than ${MAX_SOCKS4_FIELD_LENGTH} bytes`, { reply });
  }
  return -1;
}

/**
 * Encodes a SOCKS4 reply: `00 CD DSTPORT DSTIP`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSocks4Reply } from "./socks4.ts";
 * const bytes = encodeSocks4Reply({ reply: 90, bound: { address: { type: "ipv4", host: "66.102.7.99" }, port: 80 } });
 * assert.deepEqual([...bytes], [0, 90, 0, 80, 66, 102, 7, 99]);
 * ```
 */
export function encodeSocks4Reply(message: Socks4ReplyMessage): Uint8Array {
  if (!Object.values(Socks4Reply).includes(message.reply)) {
    throw new SocksError("bad-field", `SOCKS4 reply code ${message.reply} is not 90-93`);
  }
  const port = checkPort(message.bound.port);
  const ip = ipv4ToBytes(message.bound.address.host);
  if (ip === undefined) throw new SocksError("bad-address", `"${message.bound.address.host}" is not an IPv4 address`);
  const out = new Uint8Array(REPLY_LENGTH);
  out[0] = SOCKS4_REPLY_VERSION;
  out[1] = message.reply;
  out[2] = port >> 8;
  out[3] = port & 0xff;
  out.set(ip, 4);
  return out;
}

/**
 * Decodes a SOCKS4 reply (exactly 8 bytes). Throws on a VN other than 0 or a CD outside 90-93.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSocks4Reply } from "./socks4.ts";
 * // VN 0, CD 90 (granted), port 1080, address 10.0.0.1.
 * const answer = decodeSocks4Reply(new Uint8Array([0, 90, 0x04, 0x38, 10, 0, 0, 1]));
 * assert.ok(answer.done);
 * assert.equal(answer.value.reply, 90);
 * assert.deepEqual(answer.value.bound, { address: { type: "ipv4", host: "10.0.0.1" }, port: 1080 });
 * assert.equal(decodeSocks4Reply(new Uint8Array([0, 90])).done, false);
 * ```
 */
export function decodeSocks4Reply(bytes: Uint8Array): Decoded<Socks4ReplyMessage> {
  if (bytes.length >= 1 && bytes[0] !== SOCKS4_REPLY_VERSION) {
    throw new SocksError("bad-version", `SOCKS4 reply has version ${bytes[0]}, not 0`);
  }
  if (bytes.length >= 2 && (bytes[1] < Socks4Reply.Granted || bytes[1] > Socks4Reply.IdentMismatch)) {
    throw new SocksError("bad-field", `SOCKS4 reply code ${bytes[1]} is not 90-93`);
  }
  if (bytes.length < REPLY_LENGTH) return needMore(REPLY_LENGTH - bytes.length);
  const reply = bytes[1] as Socks4ReplyCode;
  const bound: HostPort & { address: Ipv4Address } = {
    address: { type: "ipv4", host: ipv4FromBytes(bytes.subarray(4, 8)) },
    port: (bytes[2] << 8) | bytes[3],
  };
  return complete({ reply, bound }, REPLY_LENGTH);
}
