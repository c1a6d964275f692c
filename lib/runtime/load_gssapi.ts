/**
 * The system GSS-API (MIT Kerberos' `libgssapi_krb5.so.2`) through the running runtime's FFI: `Deno.dlopen`
 * (needs `--allow-ffi`), `bun:ffi`, or under Node the npm package `koffi`. The one place that picks the FFI.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadGssApi } from "./load_gssapi.ts";
 * // Where the library (or Node's koffi) is missing, this rejects with a SocksError saying what to install.
 * const gss = await loadGssApi().catch((error) => error);
 * assert.ok(typeof gss.acceptor === "function" || gss.code === "unsupported");
 * ```
 *
 * @module
 */
import type { GssApi } from "../gssapi/mechanism.ts";
import { SocksError } from "../wire/socks_error.ts";
import { runtimeName } from "./detect.ts";
import { GSSAPI_LIBRARY, krb5GssApi, type NativeCalls } from "./shared/krb5_gssapi.ts";

/**
 * Loads the system GSS-API; rejects with a SocksError "unsupported" that names what is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadGssApi } from "./load_gssapi.ts";
 * const gss = await loadGssApi().catch((error) => error);
 * // Loaded: a mechanism with an acceptor and an initiator; missing: the SocksError says what to install.
 * assert.ok(typeof gss.acceptor === "function" ? typeof gss.initiator === "function" : gss.code === "unsupported");
 * ```
 */
export async function loadGssApi(): Promise<GssApi> {
  const runtime = runtimeName();
  let calls: NativeCalls;
  try {
    if (runtime === "deno") calls = (await import("./deno/krb5_library.ts")).denoGssCalls();
    else if (runtime === "bun") calls = await (await import("./bun/krb5_library.ts")).bunGssCalls();
    else calls = await (await import("./node/krb5_library.ts")).nodeGssCalls();
  } catch (error) {
    if (error instanceof SocksError) throw error;
    throw new SocksError(
      "unsupported",
      `GSS-API is not available: cannot load ${GSSAPI_LIBRARY} under ${runtime} (${(error as Error).message}). ` +
        `It comes with MIT Kerberos (Debian: apt-get install libgssapi-krb5-2).`,
      { cause: error },
    );
  }
  return krb5GssApi(calls);
}
