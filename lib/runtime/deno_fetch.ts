/**
 * Deno's fetch, routed: `Deno.createHttpClient` with the bridge as its HTTP proxy (Basic credentials in
 * `basicAuth`) and the extra CA certificates in `caCerts` (added to Deno's own store), passed as `client`.
 *
 * @module
 */
import type { FetchRoute, FetchRouteSettings } from "../client/fetch_route.ts";

/**
 * Deno's own fetch through the settings' HTTP proxy, trusting the settings' CA certificates besides its own.
 *
 * @example
 * ```ts ignore
 * import { denoFetchRoute } from "./deno_fetch.ts";
 * const route = denoFetchRoute({ ca: "-----BEGIN CERTIFICATE-----\n..." });
 * await route.close();
 * ```
 */
export function denoFetchRoute(settings: FetchRouteSettings): FetchRoute {
  const { proxy, ca } = settings;
  const client = proxy === undefined && ca === undefined ? undefined : Deno.createHttpClient({
    ...(proxy === undefined
      ? {}
      : { proxy: { url: proxy.url, basicAuth: { username: proxy.username, password: proxy.password } } }),
    ...(ca === undefined ? {} : { caCerts: [ca] }),
  });
  let closed = false;
  return {
    fetch: (input, init) => fetch(input, client === undefined ? init : { ...init, client }),
    close() {
      if (!closed && client !== undefined) client.close();
      closed = true;
      return Promise.resolve();
    },
  };
}
