/**
 * The RFC 1928 section 5 address field shared by requests, replies and UDP headers: `ATYP ADDR PORT`, with ATYP
 * 0x01 (4 bytes), 0x03 (a length byte, then 1-255 bytes of name) or 0x04 (16 bytes).
 *
 * @module
 */
import { checkPort, domainFromBytes, domainToBytes, type HostPort } from "./address.ts";
import { ipv4FromBytes, ipv4ToBytes, ipv6FromBytes, ipv6ToBytes } from "./address.ts";
import { AddressType, Socks5Reply } from "./constants.ts";
import { complete, type Decoded, needMore } from "./decoded.ts";
import { SocksError } from "./socks_error.ts";

/** Encodes `ATYP ADDR PORT` for an address and port. Throws on a bad address or port. */
export function encodeSocks5Address(hostPort: HostPort): Uint8Array {
  const port = checkPort(hostPort.port);
  const { address } = hostPort;
  let atyp: number;
  let body: Uint8Array;
  let prefix = 1;
  if (address.type === "ipv4") {
    atyp = AddressType.Ipv4;
    const bytes = ipv4ToBytes(address.host);
    if (bytes === undefined) throw new SocksError("bad-address", `"${address.host}" is not an IPv4 address`);
    body = bytes;
  } else if (address.type === "ipv6") {
    atyp = AddressType.Ipv6;
    const bytes = ipv6ToBytes(address.host);
    if (bytes === undefined) throw new SocksError("bad-address", `"${address.host}" is not an IPv6 address`);
    body = bytes;
  } else {
    atyp = AddressType.Domain;
    body = domainToBytes(address.host);
    prefix = 2;
  }
  const out = new Uint8Array(prefix + body.length + 2);
  out[0] = atyp;
  if (prefix === 2) out[1] = body.length;
  out.set(body, prefix);
  out[prefix + body.length] = port >> 8;
  out[prefix + body.length + 1] = port & 0xff;
  return out;
}

/**
 * Decodes `ATYP ADDR PORT` starting at `offset`. `consumed` counts from `offset`. An unknown ATYP throws with reply
 * 0x08; an empty or non-UTF-8 domain with reply 0x01.
 */
export function decodeSocks5Address(bytes: Uint8Array, offset: number): Decoded<HostPort> {
  const available = bytes.length - offset;
  if (available < 1) return needMore(2);
  const atyp = bytes[offset];
  let length: number;
  let start = offset + 1;
  if (atyp === AddressType.Ipv4) length = 4;
  else if (atyp === AddressType.Ipv6) length = 16;
  else if (atyp === AddressType.Domain) {
    if (available < 2) return needMore(2);
    length = bytes[offset + 1];
    if (length === 0) {
      throw new SocksError("bad-address", "domain name has length 0", { reply: Socks5Reply.GeneralFailure });
    }
    start++;
  } else {
    throw new SocksError("bad-address-type", `unknown address type 0x${hex(atyp)}`, {
      reply: Socks5Reply.AddressTypeNotSupported,
    });
  }
  const end = start + length + 2;
  if (bytes.length < end) return needMore(end - bytes.length);
  const raw = bytes.subarray(start, start + length);
  const port = (bytes[end - 2] << 8) | bytes[end - 1];
  const address = atyp === AddressType.Ipv4
    ? { type: "ipv4" as const, host: ipv4FromBytes(raw) }
    : atyp === AddressType.Ipv6
    ? { type: "ipv6" as const, host: ipv6FromBytes(raw) }
    : { type: "domain" as const, host: domainFromBytes(raw, Socks5Reply.GeneralFailure) };
  return complete({ address, port }, end - offset);
}

/** Two lowercase hex digits, for messages. */
export function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
