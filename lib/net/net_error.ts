/**
 * Turns the errno-style codes every runtime reports (ECONNREFUSED, EHOSTUNREACH, ENOTFOUND ...) into SocksErrors.
 * Adapters call it so that one table, not three, decides what a failure means.
 *
 * @module
 */
import { SocksError, type SocksErrorCode } from "../wire/socks_error.ts";

const BY_ERRNO: Readonly<Record<string, SocksErrorCode>> = {
  ECONNREFUSED: "connection-refused",
  ECONNRESET: "reset",
  EPIPE: "closed",
  EHOSTUNREACH: "host-unreachable",
  EHOSTDOWN: "host-unreachable",
  ENOTFOUND: "host-unreachable",
  EAI_NONAME: "host-unreachable",
  EAI_NODATA: "host-unreachable",
  EAI_AGAIN: "host-unreachable",
  EAI_FAIL: "host-unreachable",
  ENETUNREACH: "network-unreachable",
  ENETDOWN: "network-unreachable",
  EADDRNOTAVAIL: "network-unreachable",
  EAFNOSUPPORT: "network-unreachable",
  ETIMEDOUT: "timeout",
  ABORT_ERR: "aborted",
  EACCES: "not-allowed",
  EPERM: "not-allowed",
  // Out of file descriptors is the server's own failure, never the destination's refusal (SOCKS5 0x01).
  EMFILE: "failed",
  ENFILE: "failed",
};

/** Deno's error class names, for errors that carry no errno code. */
const BY_NAME: Readonly<Record<string, SocksErrorCode>> = {
  ConnectionRefused: "connection-refused",
  ConnectionReset: "reset",
  ConnectionAborted: "closed",
  BrokenPipe: "closed",
  TimedOut: "timeout",
  AddrNotAvailable: "network-unreachable",
  NetworkUnreachable: "network-unreachable",
  HostUnreachable: "host-unreachable",
  NotFound: "host-unreachable",
  PermissionDenied: "not-allowed",
  AbortError: "aborted",
  TimeoutError: "timeout",
  BadResource: "closed",
  Interrupted: "closed",
};

/**
 * Wraps any error as a SocksError, by its errno code or Deno error name when it has one; SocksErrors pass through.
 * `what` names the call that failed and prefixes the message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toSocksError } from "./net_error.ts";
 * const error = toSocksError(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }), "relay");
 * assert.equal(error.code, "reset");
 * assert.equal(toSocksError(new TypeError("oops")).code, "failed");
 * ```
 */
export function toSocksError(error: unknown, what?: string): SocksError {
  if (error instanceof SocksError) return error;
  const errno = (error as { code?: unknown })?.code;
  const name = (error as { name?: unknown })?.name;
  const code = (typeof errno === "string" ? BY_ERRNO[errno] : undefined) ??
    (typeof name === "string" ? BY_NAME[name] : undefined) ?? "failed";
  const detail = error instanceof Error ? error.message : String(error);
  return new SocksError(code, what === undefined ? detail : `${what}: ${detail}`, { cause: error });
}
