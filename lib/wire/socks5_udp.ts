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
  readonly fragment: number;
  readonly destination: HostPort;
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

/** Decodes a whole UDP datagram. `data` is a view into `bytes`. Throws on a truncated or malformed header. */
export function decodeSocks5UdpDatagram(bytes: Uint8Array): Socks5UdpDatagram {
  if (bytes.length < 4) throw new SocksError("bad-field", `UDP datagram of ${bytes.length} bytes has no header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new SocksError("bad-reserved", "UDP header RSV is not 0x0000");
  const address = decodeSocks5Address(bytes, 3);
  if (!address.done) throw new SocksError("bad-field", "UDP datagram ends inside its header");
  return { fragment: bytes[2], destination: address.value, data: bytes.subarray(3 + address.consumed) };
}
