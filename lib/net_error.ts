/**
 * Turns the errno-style codes every runtime reports (ECONNREFUSED, EHOSTUNREACH, ENOTFOUND ...) into SocksErrors.
 * Adapters call it so that one table, not three, decides what a failure means.
 *
 * @module
 */
import { SocksError, type SocksErrorCode } from "./wire/socks_error.ts";

const BY_ERRNO: Readonly<Record<string, SocksErrorCode>> = {
  ECONNREFUSED: "connection-refused",
  ECONNRESET: "closed",
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
};

/** Deno's error class names, for errors that carry no errno code. */
const BY_NAME: Readonly<Record<string, SocksErrorCode>> = {
  ConnectionRefused: "connection-refused",
  ConnectionReset: "closed",
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

/** Wraps any error from a runtime's network call as a SocksError; SocksErrors pass through. */
export function toSocksError(error: unknown, what: string): SocksError {
  if (error instanceof SocksError) return error;
  const errno = (error as { code?: unknown })?.code;
  const name = (error as { name?: unknown })?.name;
  const code = (typeof errno === "string" ? BY_ERRNO[errno] : undefined) ??
    (typeof name === "string" ? BY_NAME[name] : undefined) ?? "failed";
  const detail = error instanceof Error ? error.message : String(error);
  return new SocksError(code, `${what}: ${detail}`, { cause: error });
}
