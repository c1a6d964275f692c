/**
 * `@tabi/socks/gssapi`: SOCKS5's GSS-API method (RFC 1961) with Kerberos. The system's GSS-API library (MIT
 * Kerberos' `libgssapi_krb5.so.2`) through the runtime's FFI, the server's authenticator, and the protection levels;
 * the client takes its GSS-API options in `ClientOptions.gssapi`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GSSAPI_PROTECTION_NAMES, loadGssApi } from "./gssapi.ts";
 * assert.ok("integrity" in GSSAPI_PROTECTION_NAMES);
 * // Where the library (or Node's koffi) is missing, this rejects with a SocksError that says what to install.
 * const gss = await loadGssApi().catch((error) => error);
 * assert.ok(typeof gss.acceptor === "function" || gss.code === "unsupported");
 * ```
 *
 * @module
 */
export type { GssApi, GssContext, GssStep, GssUnwrapped } from "./lib/gssapi/mechanism.ts";
export { loadGssApi } from "./lib/runtime/load_gssapi.ts";
export {
  GSSAPI_PROTECTION_NAMES,
  gssApiAuthenticator,
  type GssApiProtectionName,
  type GssApiServerOptions,
} from "./lib/server/gssapi_auth.ts";
export type { GssApiClientOptions } from "./lib/client/gssapi_negotiate.ts";
