/**
 * RFC 1928 section 7: the header every UDP datagram carries through a SOCKS5 relay,
 * `RSV(2) FRAG ATYP DST.ADDR DST.PORT DATA`. A datagram is whole or it is nothing, so decoding is not incremental.
 *
 * @module
 */
import type { HostPort } from "./address.ts";
import { decodeSocks5Address, encodeSocks5Address } from "./socks5_address.ts";
import { SocksError } from "./socks_error.ts";

/** A UDP datagram through a SOCKS5 relay: its fragment number (0 = whole), its peer, and its payload. */
export interface Socks5UdpDatagram {
  /** The FRAG field: 0 for a whole datagram, 1-127 a fragment's position (0x80 marks the last). */
  readonly fragment: number;
  /** Where it goes (client to relay) or where it came from (relay to client). */
  readonly destination: HostPort;
  /** The payload. */
  readonly data: Uint8Array;
}

/**
 * Encodes a UDP datagram with its header.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSocks5UdpDatagram } from "./socks5_udp.ts";
 * const bytes = encodeSocks5UdpDatagram({
 *   fragment: 0,
 *   destination: { address: { type: "ipv4", host: "127.0.0.1" }, port: 53 },
 *   data: new Uint8Array([0xab]),
 * });
 * assert.deepEqual([...bytes], [0, 0, 0, 1, 127, 0, 0, 1, 0, 53, 0xab]);
 * ```
 */
export function encodeSocks5UdpDatagram(datagram: Socks5UdpDatagram): Uint8Array {
  const { fragment } = datagram;
  if (!Number.isInteger(fragment) || fragment < 0 || fragment > 255) {
    throw new SocksError("bad-field", `FRAG ${fragment} is not a byte`);
  }
  const address = encodeSocks5Address(datagram.destination);
  const out = new Uint8Array(3 + address.length + datagram.data.length);
  out[2] = fragment;
  out.set(address, 3);
  out.set(datagram.data, 3 + address.length);
  return out;
}

/**
 * Decodes a whole UDP datagram. `data` is a view into `bytes`. Throws on a truncated or malformed header.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSocks5UdpDatagram } from "./socks5_udp.ts";
 * // RSV RSV FRAG ATYP=IPv4 10.0.0.2 port 53, then the payload.
 * const bytes = new Uint8Array([0, 0, 0, 0x01, 10, 0, 0, 2, 0, 53, 0xab, 0xcd]);
 * const datagram = decodeSocks5UdpDatagram(bytes);
 * assert.equal(datagram.fragment, 0);
 * assert.deepEqual(datagram.destination, { address: { type: "ipv4", host: "10.0.0.2" }, port: 53 });
 * assert.deepEqual([...datagram.data], [0xab, 0xcd]);
 * assert.throws(() => decodeSocks5UdpDatagram(bytes.subarray(0, 6)));
 * ```
 */
export function decodeSocks5UdpDatagram(bytes: Uint8Array): Socks5UdpDatagram {
  if (bytes.length < 4) throw new SocksError("bad-field", `UDP datagram of ${bytes.length} bytes has no header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new SocksError("bad-reserved", "UDP header RSV is not 0x0000");
  const address = decodeSocks5Address(bytes, 3);
  if (!address.done) throw new SocksError("bad-field", "UDP datagram ends inside its header");
  return { fragment: bytes[2], destination: address.value, data: bytes.subarray(3 + address.consumed) };
}
