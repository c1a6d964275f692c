/**
 * Where a web URL points, as a SOCKS chain is asked for it: the host as written (a name stays a name, for the last
 * proxy to resolve) and the port, defaulted per scheme.
 *
 * @module
 */
import { ipAddress } from "../net/endpoint.ts";
import type { HostPort } from "../wire/address.ts";

/** A URL's host without the brackets of an IPv6 literal: the name a certificate must carry, or the address. */
export function urlHost(url: URL): string {
  return url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * The destination of an http: or https: URL (port 443 for https, 80 otherwise, unless the URL names one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { urlDestination } from "./url_destination.ts";
 * assert.deepEqual(urlDestination(new URL("https://example.com/")), {
 *   address: { type: "domain", host: "example.com" },
 *   port: 443,
 * });
 * assert.equal(urlDestination(new URL("http://[::1]:8080/")).address.type, "ipv6");
 * ```
 */
export function urlDestination(url: URL): HostPort {
  const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  const address = ipAddress(urlHost(url)) ?? { type: "domain" as const, host: urlHost(url) };
  return { address, port };
}
