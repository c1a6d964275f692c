/**
 * A listen that failed, said in one line an operator can act on: the address and the reason, the same under every
 * runtime (Node and Bun report errno codes, Deno error class names; Bun's own message names no reason).
 *
 * @module
 */
import type { Endpoint } from "../net/network.ts";
import { SocksError } from "../wire/socks_error.ts";
import { formatEndpoint } from "../net/endpoint.ts";

/** The reasons an operator meets, by errno code and by Deno's error class name. */
const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: "the address is already in use (another program listens on this port)",
  AddrInUse: "the address is already in use (another program listens on this port)",
  EADDRNOTAVAIL: "the address is not on this machine",
  AddrNotAvailable: "the address is not on this machine",
  EACCES: "permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE)",
  EPERM: "permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE)",
  PermissionDenied: "permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE)",
  EAFNOSUPPORT: "this machine has no such address family (IPv6 disabled?)",
};

/** The errno code or class name of an error or of any error in its cause chain. */
function reasonOf(error: unknown): string | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    const name = (e as { name?: unknown }).name;
    if (typeof code === "string" && REASONS[code]) return REASONS[code];
    if (typeof name === "string" && REASONS[name]) return REASONS[name];
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A SocksError saying that listening on `address` failed and why, keeping the runtime's error as its cause.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenFailure } from "./listen_failure.ts";
 * const error = listenFailure({ hostname: "::1", port: 1080 }, Object.assign(new Error("x"), { code: "EADDRINUSE" }));
 * assert.equal(error.message, "cannot listen on [::1]:1080: the address is already in use (another program listens on this port)");
 * ```
 */
export function listenFailure(address: Endpoint, error: unknown): SocksError {
  const code = error instanceof SocksError ? error.code : "failed";
  const detail = reasonOf(error) ?? (error instanceof Error ? error.message : String(error));
  return new SocksError(code, `cannot listen on ${formatEndpoint(address)}: ${detail}`, { cause: error });
}
