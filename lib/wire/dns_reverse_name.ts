/**
 * The names PTR questions ask about (RFC 1035 section 3.5 for IPv4, RFC 3596 section 2.5 for IPv6), turned back into
 * the address they name.
 *
 * @module
 */
import { ipv4FromBytes, ipv6FromBytes } from "./address.ts";

const IPV4_SUFFIX = ".in-addr.arpa";
const IPV6_SUFFIX = ".ip6.arpa";

/**
 * The address a reverse name names (`4.3.2.1.in-addr.arpa` is 1.2.3.4; `ip6.arpa` names have 32 nibbles), or
 * undefined for any other name, a partial one included.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reverseNameAddress } from "./dns_reverse_name.ts";
 * assert.equal(reverseNameAddress("5.0.192.127.in-addr.arpa"), "127.192.0.5");
 * assert.equal(reverseNameAddress("1." + "0.".repeat(31) + "ip6.arpa"), "::1");
 * assert.equal(reverseNameAddress("example.org"), undefined);
 * ```
 */
export function reverseNameAddress(name: string): string | undefined {
  const lower = name.toLowerCase().replace(/\.$/, "");
  if (lower.endsWith(IPV4_SUFFIX)) {
    const parts = lower.slice(0, -IPV4_SUFFIX.length).split(".");
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) {
      return undefined;
    }
    return ipv4FromBytes(new Uint8Array(parts.reverse().map(Number)));
  }
  if (lower.endsWith(IPV6_SUFFIX)) {
    const nibbles = lower.slice(0, -IPV6_SUFFIX.length).split(".");
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    const hex = nibbles.reverse().join("");
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 16; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return ipv6FromBytes(bytes);
  }
  return undefined;
}
