/**
 * How `tabi connect` words a tunnel that was cut: as ncat and the C library word it (strerror), so that scripts
 * matching either keep working, and the same under every runtime. Node reports a failed write as an 'error' event
 * that the adapter hands to the reading side ("read: write EPIPE"); Deno names errors by class (BrokenPipe); Bun
 * often gives no errno at all. What the user needs is the one fact: the peer reset the connection, or it was gone
 * while we were still sending.
 *
 * @module
 */
import { toSocksError } from "../lib/net/net_error.ts";

/** strerror's words for the errors a cut tunnel shows, by errno code and by Deno's error class name. */
const STRERROR = {
  ECONNRESET: "Connection reset by peer",
  ConnectionReset: "Connection reset by peer",
  EPIPE: "Broken pipe",
  BrokenPipe: "Broken pipe",
  ECONNABORTED: "Software caused connection abort",
  ConnectionAborted: "Software caused connection abort",
  ETIMEDOUT: "Connection timed out",
  TimedOut: "Connection timed out",
} as const;

/** The first errno code or Deno error name found on an error or its causes. */
function errnoOf(error: unknown): keyof typeof STRERROR | undefined {
  for (let at = error, depth = 0; at !== undefined && at !== null && depth < 8; depth++) {
    const { code, name, cause } = at as { code?: unknown; name?: unknown; cause?: unknown };
    for (const key of [code, name]) {
      if (typeof key === "string" && Object.hasOwn(STRERROR, key)) return key as keyof typeof STRERROR;
    }
    at = cause;
  }
  return undefined;
}

/**
 * The message for a tunnel cut while `side` was moving bytes: a reset is "Connection reset by peer"; an upload that
 * failed any other way found the connection gone, "Broken pipe" (EPIPE, what write(2) says then).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tunnelFailure } from "./tunnel_failure.ts";
 * const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
 * assert.equal(tunnelFailure(new Error("read: write EPIPE", { cause: epipe }), "download"), "Broken pipe");
 * assert.equal(tunnelFailure(Object.assign(new Error("x"), { code: "ECONNRESET" }), "upload"), "Connection reset by peer");
 * ```
 */
export function tunnelFailure(error: unknown, side: "upload" | "download"): string {
  const errno = errnoOf(error);
  if (errno !== undefined) return STRERROR[errno];
  const failure = toSocksError(error);
  if (failure.code === "reset") return STRERROR.ECONNRESET;
  if (side === "upload") return STRERROR.EPIPE;
  return failure.message;
}
