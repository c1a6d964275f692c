/**
 * Address ranges in CIDR notation, for rules and NO_PROXY. IPv4-mapped IPv6 addresses count as IPv4.
 *
 * @module
 */
import { ipAddress } from "./endpoint.ts";
import { ipv4ToBytes, ipv6ToBytes } from "../wire/address.ts";
import { SocksError } from "../wire/socks_error.ts";

/** An address range: the network's bytes and the prefix length. */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128). Throws a SocksError naming the bad text. */
export function parseCidr(text: string): Cidr {
  const [address, prefixText, extra] = text.split("/");
  const parsed = ipAddress(address);
  const bytes = parsed === undefined
    ? undefined
    : parsed.type === "ipv4"
    ? ipv4ToBytes(parsed.host)
    : ipv6ToBytes(parsed.host);
  const max = bytes?.length === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (bytes === undefined || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
    throw new SocksError("bad-address", `"${text}" is not an address or CIDR range`);
  }
  return { bytes, prefix };
}

/** True when the IP literal `ip` is inside `cidr`. IPv4-mapped IPv6 counts as IPv4. */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const address = ipAddress(ip);
  if (address === undefined) return false;
  const bytes = address.type === "ipv4" ? ipv4ToBytes(address.host)! : ipv6ToBytes(address.host)!;
  if (bytes.length !== cidr.bytes.length) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i] & mask) !== (cidr.bytes[i] & mask)) return false;
  }
  return true;
}
