/**
 * The one error type of tabi: every failure, from a malformed byte to a refused connection, is a {@link SocksError}
 * carrying a stable {@link SocksErrorCode} and, where the protocol has one, the reply code to answer with.
 *
 * @module
 */

/** Stable identifiers of what went wrong; the message says the details. */
export type SocksErrorCode =
  | "bad-version"
  | "bad-command"
  | "bad-address-type"
  | "bad-address"
  | "bad-port"
  | "bad-field"
  | "bad-reserved"
  | "bad-methods"
  | "bad-proxy-header"
  | "too-long"
  | "unsupported"
  | "auth-failed"
  | "not-allowed"
  | "quota-exceeded"
  | "rejected"
  | "network-unreachable"
  | "host-unreachable"
  | "connection-refused"
  | "timeout"
  | "closed"
  | "reset"
  | "aborted"
  | "bad-url"
  | "dns-leak"
  | "failed";

/** Options of a {@link SocksError}. */
export interface SocksErrorOptions {
  /** The reply code the protocol wants sent for this failure (SOCKS4 CD, SOCKS5 REP, method 0xFF, RFC 1929 status). */
  readonly reply?: number;
  /** The underlying error, if any. */
  readonly cause?: unknown;
  /** In a proxy chain, which hop failed (1 is the first proxy). */
  readonly hop?: number;
}

/**
 * An error of tabi: malformed input, a refused request or a failed connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocksError } from "./socks_error.ts";
 * const error = new SocksError("bad-address-type", "unknown ATYP 0x07", { reply: 0x08 });
 * assert.equal(error.reply, 0x08);
 * assert.ok(error instanceof Error);
 * ```
 */
export class SocksError extends Error {
  /** What kind of failure this is. */
  readonly code: SocksErrorCode;
  /** The reply code to answer with (server side) or that the proxy answered (client side), if any. */
  readonly reply: number | undefined;
  /** In a proxy chain, which hop failed (1 is the first proxy); undefined otherwise. */
  readonly hop: number | undefined;

  /** Makes an error with a code, a message that says exactly what is wrong, and an optional reply code. */
  constructor(code: SocksErrorCode, message: string, options: SocksErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SocksError";
    this.code = code;
    this.reply = options.reply;
    this.hop = options.hop;
  }
}
