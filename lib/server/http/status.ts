/**
 * The one place where a failure becomes an HTTP status on the HTTP side, and the short answer that carries it.
 *
 * @module
 */
import { encodeHttpHead, type HttpHeader } from "../../wire/http_head.ts";
import { SocksError, type SocksErrorCode } from "../../wire/socks_error.ts";

/** Reason phrases of the statuses the proxy itself sends. */
export const HttpStatus = {
  200: "Connection established",
  400: "Bad Request",
  403: "Forbidden",
  407: "Proxy Authentication Required",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  502: "Bad Gateway",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
} as const;

/** A status the proxy answers with. */
export type HttpStatusCode = keyof typeof HttpStatus;

const BY_CODE: Partial<Record<SocksErrorCode, HttpStatusCode>> = {
  "not-allowed": 403,
  "quota-exceeded": 403,
  "auth-failed": 407,
  "timeout": 504,
  "unsupported": 501,
  "too-long": 431,
};

/**
 * The status for a failure: a parser's own (400, 431, 501, 505), 403 for a rule, 407 for authentication, 504 for a
 * timeout, 400 for any other malformed input, and 502 for everything that went wrong on the way to the destination.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocksError } from "../../wire/socks_error.ts";
 * import { statusFor } from "./status.ts";
 * assert.equal(statusFor(new SocksError("connection-refused", "refused")), 502);
 * assert.equal(statusFor(new SocksError("not-allowed", "rule 2")), 403);
 * ```
 */
export function statusFor(error: unknown): HttpStatusCode {
  if (!(error instanceof SocksError)) return 502;
  if (error.reply !== undefined && error.reply in HttpStatus && error.hop === undefined) {
    return error.reply as HttpStatusCode;
  }
  const byCode = BY_CODE[error.code];
  if (byCode !== undefined) return byCode;
  return error.code.startsWith("bad-") ? 400 : 502;
}

/** The proxy's own answer: a status, a one-line text body, and `Connection: close` unless kept alive. */
export function statusResponse(
  status: HttpStatusCode,
  detail: string,
  options: { readonly keepAlive?: boolean; readonly extra?: readonly HttpHeader[] } = {},
): Uint8Array {
  const body = new TextEncoder().encode(`${status} ${HttpStatus[status]}${detail ? `: ${detail}` : ""}\n`);
  const head = encodeHttpHead(`HTTP/1.1 ${status} ${HttpStatus[status]}`, [
    { name: "Content-Type", value: "text/plain; charset=utf-8" },
    { name: "Content-Length", value: String(body.length) },
    ...(options.keepAlive ? [] : [{ name: "Connection", value: "close" }]),
    ...(options.extra ?? []),
  ]);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}
