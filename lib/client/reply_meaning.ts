/**
 * What a proxy's reply code means, for errors a person reads: the inverse of the server's mapping.
 *
 * @module
 */
import type { SocksErrorCode } from "../wire/socks_error.ts";

const SOCKS5: Readonly<Record<number, [SocksErrorCode, string]>> = {
  0x01: ["failed", "general SOCKS server failure"],
  0x02: ["not-allowed", "connection not allowed by ruleset"],
  0x03: ["network-unreachable", "network unreachable"],
  0x04: ["host-unreachable", "host unreachable"],
  0x05: ["connection-refused", "connection refused"],
  0x06: ["timeout", "TTL expired"],
  0x07: ["unsupported", "command not supported"],
  0x08: ["bad-address-type", "address type not supported"],
};

const SOCKS4: Readonly<Record<number, [SocksErrorCode, string]>> = {
  91: ["rejected", "request rejected or failed"],
  92: ["auth-failed", "rejected: the proxy cannot reach the client's identd"],
  93: ["auth-failed", "rejected: identd and the client report different user-ids"],
};

/**
 * The error code and meaning of a failure reply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { replyMeaning } from "./reply_meaning.ts";
 * assert.deepEqual(replyMeaning(5, 0x05), ["connection-refused", "connection refused"]);
 * ```
 */
export function replyMeaning(version: 4 | 5, reply: number): [SocksErrorCode, string] {
  const known = (version === 5 ? SOCKS5 : SOCKS4)[reply];
  return known ?? ["failed", `unknown reply code ${reply}`];
}
