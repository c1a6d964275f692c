/**
 * Deno's fetch, routed: `Deno.createHttpClient` with the bridge as its HTTP proxy (Basic credentials in
 * `basicAuth`) and the extra CA certificates in `caCerts` (added to Deno's own store), passed as `client`.
 *
 * socksFetch no longer sends http: and https: requests through a chain this way: Deno's proxied fetch looks the
 * URL's host up in the local DNS (A and AAAA) before it sends anything to the proxy, for every request and redirect
 * (a Deno behaviour; README, "fetch through SOCKS"). Under Deno those take tabi's HTTP client over the tunnel
 * (lib/fetch/http_client); this route is left for direct fetches (no proxy: the lookup is the point) and for
 * other schemes.
 *
 * Deno's client bypasses even an explicit proxy for the hosts NO_PROXY lists (it reads NO_PROXY/no_proxy when the
 * client is made): such a host would be reached directly, its name looked up here. So the client is made with those
 * two variables unset for that moment, then restored. Without permission to read them (`--allow-env`), they
 * cannot be hidden: grant it, or leave NO_PROXY unset.
 *
 * @module
 */
import type { FetchRoute, FetchRouteSettings } from "../../fetch/route.ts";
import type { RuntimeWebSocket } from "../../fetch/websocket/native_transport.ts";

/**
 * Deno's own fetch through the settings' HTTP proxy, trusting the settings' CA certificates besides its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoFetchRoute } from "./fetch_route.ts";
 * // With no proxy and no extra CA, the route is the runtime's plain fetch (a data: URL needs no network).
 * const route = denoFetchRoute({});
 * assert.equal(await (await route.fetch("data:text/plain,hi")).text(), "hi");
 * await route.close();
 * ```
 */
export function denoFetchRoute(settings: FetchRouteSettings): FetchRoute {
  const { proxy, ca } = settings;
  const client = proxy === undefined && ca === undefined ? undefined : withoutNoProxy(() =>
    Deno.createHttpClient({
      ...(proxy === undefined
        ? {}
        : { proxy: { url: proxy.url, basicAuth: { username: proxy.username, password: proxy.password } } }),
      ...(ca === undefined ? {} : { caCerts: [ca] }),
    })
  );
  let closed = false;
  return {
    fetch: (input, init) => fetch(input, client === undefined ? init : { ...init, client }),
    // Deno's WebSocket takes no proxy and no CA: used only direct (through a chain, tabi's own client runs instead).
    webSocket: (url, protocols) => Promise.resolve(new WebSocket(url, [...protocols]) as unknown as RuntimeWebSocket),
    close() {
      if (!closed && client !== undefined) client.close();
      closed = true;
      return Promise.resolve();
    },
  };
}

/** Runs `make` with NO_PROXY and no_proxy unset, restoring them afterwards (synchronously: nothing else runs). */
function withoutNoProxy<T>(make: () => T): T {
  const saved: [string, string][] = [];
  try {
    for (const name of ["NO_PROXY", "no_proxy"]) {
      const value = Deno.env.get(name);
      if (value !== undefined) {
        saved.push([name, value]);
        Deno.env.delete(name);
      }
    }
  } catch {
    // No permission to read the environment: see the module doc.
  }
  try {
    return make();
  } finally {
    for (const [name, value] of saved) Deno.env.set(name, value);
  }
}
