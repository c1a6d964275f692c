/**
 * Tor's SafeSocks and TestSocks: a request that carries an IP address where a name could have gone tells that the
 * client resolved the name itself, so its DNS saw where it was going. SafeSocks refuses such requests; TestSocks
 * only says, per request, whether it was safe.
 *
 * @module
 */
import { SocksError } from "../wire/socks_error.ts";
import type { ServerConfig } from "./config.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import type { ClientRequest } from "./handshake.ts";

/** What the log says of a request that carried an address. */
export const UNSAFE_REASON = "unsafe: the client resolved the name itself";

/**
 * True for the requests SafeSocks refuses: SOCKS4 CONNECT and BIND (SOCKS4 can carry only an address; 4a carries
 * a name) and SOCKS5 CONNECT with ATYP IPv4 or IPv6. SOCKS5 BIND and UDP ASSOCIATE name addresses by nature.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isUnsafeRequest } from "./safe_socks.ts";
 * const to = (type: "ipv4" | "domain", host: string) => ({ address: { type, host }, port: 80 });
 * assert.equal(isUnsafeRequest({ version: 5, command: "connect", destination: to("ipv4", "192.0.2.1") }), true);
 * assert.equal(isUnsafeRequest({ version: 5, command: "connect", destination: to("domain", "example.org") }), false);
 * ```
 */
export function isUnsafeRequest(request: Pick<ClientRequest, "version" | "command" | "destination">): boolean {
  if (request.destination.address.type === "domain") return false;
  return request.version === 4 || request.command === "connect";
}

/**
 * Under safeSocks or testSocks, records whether the request was safe; under safeSocks, refuses an unsafe one
 * (SocksError "not-allowed": SOCKS4 CD 91, SOCKS5 REP 0x02).
 */
export function judgeSafety(
  record: ConnectionRecord,
  request: ClientRequest,
  config: Pick<ServerConfig, "safeSocks" | "testSocks">,
): void {
  if (!config.safeSocks && !config.testSocks) return;
  const unsafe = isUnsafeRequest(request);
  record.safety = unsafe ? UNSAFE_REASON : "safe";
  if (unsafe && config.safeSocks) {
    throw new SocksError("not-allowed", `${UNSAFE_REASON}; refused (safe-socks): send the name, not an address`);
  }
}
