/**
 * DNS over TCP's framing (RFC 1035 section 4.2.2, RFC 7766 section 8): each message behind a two-octet length.
 * Sans-I/O: the decoder answers like every incremental decoder here.
 *
 * @module
 */
import { type Decoded, needMore } from "./decoded.ts";
import { SocksError } from "./socks_error.ts";

/** The smallest message a length prefix may announce: a DNS header (RFC 1035 section 4.1.1). */
export const DNS_HEADER_LENGTH = 12;

/**
 * Decodes one length-prefixed message from the front of `bytes`. A prefix announcing less than a header is a lie
 * told by no DNS client: SocksError "bad-field". The most a prefix can announce is 65,535 octets, which bounds what a
 * reader of this decoder ever buffers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeDnsTcpFrame } from "./dns_tcp_frame.ts";
 * assert.deepEqual(decodeDnsTcpFrame(new Uint8Array([0, 12, 1])), { done: false, needed: 11 });
 * assert.throws(() => decodeDnsTcpFrame(new Uint8Array([0, 3, 1, 2, 3])), /shorter than a DNS header/);
 * ```
 */
export function decodeDnsTcpFrame(bytes: Uint8Array): Decoded<Uint8Array> {
  if (bytes.length < 2) return needMore(2 - bytes.length);
  const length = (bytes[0] << 8) | bytes[1];
  if (length < DNS_HEADER_LENGTH) {
    throw new SocksError("bad-field", `DNS over TCP length prefix of ${length} is shorter than a DNS header`);
  }
  if (bytes.length < 2 + length) return needMore(2 + length - bytes.length);
  return { done: true, value: bytes.slice(2, 2 + length), consumed: 2 + length };
}

/**
 * Puts the length prefix in front of a message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeDnsTcpFrame } from "./dns_tcp_frame.ts";
 * assert.deepEqual([...encodeDnsTcpFrame(new Uint8Array([7, 8]))], [0, 2, 7, 8]);
 * ```
 */
export function encodeDnsTcpFrame(message: Uint8Array): Uint8Array {
  if (message.length > 0xffff) throw new SocksError("bad-field", "DNS message longer than 65,535 octets");
  const bytes = new Uint8Array(2 + message.length);
  bytes[0] = message.length >> 8;
  bytes[1] = message.length & 0xff;
  bytes.set(message, 2);
  return bytes;
}
