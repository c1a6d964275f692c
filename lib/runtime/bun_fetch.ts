/**
 * Bun's fetch, routed: its `proxy` option with the bridge's URL (Bun sends the URL's user and password as
 * `Proxy-Authorization: Basic`), and `tls.ca` with the runtime's root certificates plus the extra ones (a CA list
 * given to Bun replaces its store, as in Node).
 *
 * @module
 */
import { rootCertificates } from "node:tls";
import type { FetchRoute, FetchRouteSettings } from "../client/fetch_route.ts";

/**
 * Bun's own fetch through the settings' HTTP proxy, trusting the settings' CA certificates besides its own.
 *
 * @example
 * ```ts ignore
 * import { bunFetchRoute } from "./bun_fetch.ts";
 * const route = bunFetchRoute({});
 * await route.close();
 * ```
 */
export function bunFetchRoute(settings: FetchRouteSettings): FetchRoute {
  const { proxy, ca } = settings;
  const extra: Record<string, unknown> = {};
  if (proxy !== undefined) {
    const url = new URL(proxy.url);
    url.username = encodeURIComponent(proxy.username);
    url.password = encodeURIComponent(proxy.password);
    extra.proxy = url.href;
  }
  if (ca !== undefined) extra.tls = { ca: [...rootCertificates, ca] };
  return {
    fetch: (input, init) => fetch(input, { ...init, ...extra } as RequestInit),
    // Bun's pool has no handle to close; the bridge closing ends its connections to it.
    close: () => Promise.resolve(),
  };
}
