/**
 * How a SOCKS fetch rejects, on every path (the runtime's fetch through the bridge, or the HTTP client over a
 * tunnel): as fetch itself does, a TypeError, with the SocksError as its `cause`.
 *
 * @module
 */
import type { SocksError } from "../wire/socks_error.ts";

/**
 * A rejection as fetch has them: a TypeError, with the SocksError as its cause.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocksError } from "../wire/socks_error.ts";
 * import { fetchFailed } from "./fetch_failed.ts";
 * const cause = new SocksError("connection-refused", "the proxy answered 0x05", { reply: 5 });
 * const error = fetchFailed(cause);
 * assert.ok(error instanceof TypeError);
 * assert.equal(error.cause, cause);
 * ```
 */
export function fetchFailed(error: SocksError): TypeError {
  return new TypeError(`fetch failed: ${error.message}`, { cause: error });
}
