/**
 * Conversions between the Network's endpoints (IP literals) and the wire's addresses, and address comparison that
 * treats an IPv4-mapped IPv6 address as the IPv4 address it maps.
 *
 * @module
 */
import type { Endpoint } from "./network.ts";
import {
  type Address,
  formatHostPort,
  type HostPort,
  ipv4FromBytes,
  ipv4ToBytes,
  ipv6FromBytes,
  ipv6ToBytes,
} from "../wire/address.ts";

/** An IP literal as an Address; IPv4-mapped IPv6 becomes IPv4. Undefined for a non-IP string. */
export function ipAddress(hostname: string): Address | undefined {
  const bare = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  // The strict dotted quad is its own canonical form (no leading zeros, no shorthand): no string is built anew.
  if (ipv4ToBytes(bare) !== undefined) return { type: "ipv4", host: bare };
  const v6 = ipv6ToBytes(bare);
  if (!v6) return undefined;
  if (v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff) {
    return { type: "ipv4", host: ipv4FromBytes(v6.subarray(12)) };
  }
  return { type: "ipv6", host: ipv6FromBytes(v6) };
}

/** An endpoint as a wire HostPort. */
export function endpointToHostPort(endpoint: Endpoint): HostPort {
  return { address: ipAddress(endpoint.hostname) ?? { type: "ipv4", host: "0.0.0.0" }, port: endpoint.port };
}

/** Formats an endpoint as `ip:port`, IPv6 in brackets; a hostname that is no IP literal is shown as it is. */
export function formatEndpoint(endpoint: Endpoint): string {
  const address = ipAddress(endpoint.hostname);
  if (address === undefined) return `${endpoint.hostname}:${endpoint.port}`;
  return formatHostPort({ address, port: endpoint.port });
}

/** True when two IP literals name the same address (canonical forms, IPv4-mapped folded). */
export function sameIp(a: string, b: string): boolean {
  const x = ipAddress(a);
  const y = ipAddress(b);
  return x !== undefined && y !== undefined && x.type === y.type && x.host === y.host;
}

/** True for 0.0.0.0 and ::, which a BIND or UDP ASSOCIATE request uses to say "any address". */
export function isUnspecified(hostname: string): boolean {
  const address = ipAddress(hostname);
  return address !== undefined && (address.host === "0.0.0.0" || address.host === "::");
}

/** True for 127.0.0.0/8 and ::1. */
export function isLoopback(hostname: string): boolean {
  const address = ipAddress(hostname);
  if (address === undefined) return hostname === "localhost";
  return address.type === "ipv4" ? address.host.startsWith("127.") : address.host === "::1";
}
