/**
 * A Worker's fetch, as a route: only the direct one. A Worker's fetch cannot be pointed at a proxy (there is no
 * proxy option, and a Worker cannot listen for a local bridge), so requests through a chain take tabi's HTTP/1.1
 * client over the tunnel instead (lib/fetch/http_client, with `startTls()` for https); what is left here is a
 * fetch with no proxy, which is the Worker's own. Extra CA certificates are the Worker's configuration (workerd's
 * `tlsOptions.trustedCertificates`), never a per-call option, so a `ca` is refused rather than silently ignored.
 *
 * @module
 */
import type { FetchRoute, FetchRouteSettings } from "../../fetch/route.ts";
import { SocksError } from "../../wire/socks_error.ts";

/** The message of the refusal of `ca`, shared with the tunnel path's (lib/runtime/workers/network.ts). */
export const WORKERS_CA_REFUSAL =
  "Workers take extra CA certificates from the Worker's configuration (tlsOptions.trustedCertificates), not per call";

/**
 * The Worker's own fetch, for requests with no proxy. A route through a proxy, or with `ca`, rejects every call
 * with fetch's TypeError whose cause is a SocksError "unsupported".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { workersFetchRoute } from "./fetch_route.ts";
 * // Extra CAs per call cannot work in a Worker: the refusal says so.
 * const route = workersFetchRoute({ ca: "-----BEGIN CERTIFICATE-----" });
 * const error = await route.fetch("https://example.com/").catch((e: unknown) => e);
 * assert.ok(error instanceof TypeError);
 * assert.equal((error.cause as { code: string }).code, "unsupported");
 * await route.close();
 * ```
 */
export function workersFetchRoute(settings: FetchRouteSettings): FetchRoute {
  const refusal = settings.proxy !== undefined
    ? new SocksError("unsupported", "a Worker's fetch cannot be pointed at a proxy")
    : settings.ca !== undefined
    ? new SocksError("unsupported", WORKERS_CA_REFUSAL)
    : undefined;
  return {
    // Called as a plain function: workerd's fetch refuses to run with another `this` ("Illegal invocation").
    fetch: (input, init) =>
      refusal === undefined
        ? fetch(input, init)
        : Promise.reject(new TypeError(`fetch failed: ${refusal.message}`, { cause: refusal })),
    close: () => Promise.resolve(),
  };
}
