/**
 * Bun's fetch, routed: its `proxy` option with the bridge's URL (Bun sends the URL's user and password as
 * `Proxy-Authorization: Basic`), and `tls.ca` with the runtime's root certificates plus the extra ones (a CA list
 * given to Bun replaces its store, as in Node).
 *
 * Bun's fetch bypasses even an explicit `proxy` for the hosts NO_PROXY lists (it checks NO_PROXY/no_proxy as each
 * fetch starts): such a host would be reached directly, its name looked up here. So each fetch starts with those
 * two variables unset for that moment, then restored.
 *
 * @module
 */
import type processModule from "node:process";
import type tlsModule from "node:tls";
import { builtinModule } from "../shared/builtin_module.ts";
import type { FetchRoute, FetchRouteSettings } from "../../fetch/route.ts";
import type { RuntimeWebSocket } from "../../fetch/websocket/native_transport.ts";

/**
 * Bun's own fetch through the settings' HTTP proxy, trusting the settings' CA certificates besides its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bunFetchRoute } from "./fetch_route.ts";
 * // With no proxy and no extra CA, the route is the runtime's plain fetch (a data: URL needs no network).
 * const route = bunFetchRoute({});
 * assert.equal(await (await route.fetch("data:text/plain,hi")).text(), "hi");
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
  if (ca !== undefined) extra.tls = { ca: [...builtinModule<typeof tlsModule>("node:tls").rootCertificates, ca] };
  return {
    fetch: (input, init) => {
      const options = { ...init, ...extra } as RequestInit;
      return proxy === undefined ? fetch(input, options) : withoutNoProxy(() => fetch(input, options));
    },
    // Bun's WebSocket takes the same `proxy` (it sends CONNECT to the bridge) and `tls` options as its fetch.
    webSocket: (url, protocols) => {
      const options = { protocols: [...protocols], ...extra };
      const make = () => new WebSocket(url, options as unknown as string[]) as unknown as RuntimeWebSocket;
      return Promise.resolve(proxy === undefined ? make() : withoutNoProxy(make));
    },
    // Bun's pool has no handle to close; the bridge closing ends its connections to it.
    close: () => Promise.resolve(),
  };
}

/** Runs `make` with NO_PROXY and no_proxy unset, restoring them afterwards (synchronously: nothing else runs). */
function withoutNoProxy<T>(make: () => T): T {
  const process = builtinModule<typeof processModule>("node:process");
  const saved: [string, string][] = [];
  for (const name of ["NO_PROXY", "no_proxy"]) {
    const value = process.env[name];
    if (value !== undefined) {
      saved.push([name, value]);
      delete process.env[name];
    }
  }
  try {
    return make();
  } finally {
    for (const [name, value] of saved) process.env[name] = value;
  }
}
