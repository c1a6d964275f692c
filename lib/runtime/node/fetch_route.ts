/**
 * Node's fetch, routed: the npm `undici` package's ProxyAgent (it tunnels every request, http:// included, with
 * CONNECT, sending the bridge's credentials as `Proxy-Authorization`) given to Node's own fetch as its
 * `dispatcher`, so requests and responses are Node's own Request and Response. Extra CA certificates join Node's
 * root certificates (a `ca` list given to Node's TLS replaces them otherwise). Only this file imports undici.
 *
 * @module
 */
import type tlsModule from "node:tls";
import type * as Undici from "undici";
import type { FetchRoute, FetchRouteSettings } from "../../fetch/route.ts";
import type { RuntimeWebSocket } from "../../fetch/websocket/native_transport.ts";
import { builtinModule } from "../shared/builtin_module.ts";

/**
 * Node's own fetch through the settings' HTTP proxy, trusting the settings' CA certificates besides its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nodeFetchRoute } from "./fetch_route.ts";
 * // With no proxy and no extra CA, the route is the runtime's plain fetch (a data: URL needs no network).
 * const route = await nodeFetchRoute({});
 * assert.equal(await (await route.fetch("data:text/plain,hi")).text(), "hi");
 * await route.close();
 * ```
 */
export async function nodeFetchRoute(settings: FetchRouteSettings): Promise<FetchRoute> {
  const { proxy, ca } = settings;
  const tls = ca === undefined
    ? undefined
    : { ca: [...builtinModule<typeof tlsModule>("node:tls").rootCertificates, ca] };
  if (proxy === undefined && tls === undefined) {
    return {
      fetch: (input, init) => fetch(input, init),
      // Node 20 has no global WebSocket (Node 22 has, undici's): undici's, direct.
      webSocket: async (url, protocols) =>
        new (await loadUndici()).WebSocket(url, { protocols: [...protocols] }) as unknown as RuntimeWebSocket,
      close: () => Promise.resolve(),
    };
  }
  const undici = await loadUndici();
  const dispatcher = proxy === undefined ? new undici.Agent({ connect: tls }) : new undici.ProxyAgent({
    uri: proxy.url,
    token: `Basic ${btoa(`${proxy.username}:${proxy.password}`)}`,
    ...(tls === undefined ? {} : { requestTls: tls }),
  });
  let closing: Promise<void> | undefined;
  return {
    fetch: (input, init) => fetch(input, { ...init, dispatcher } as RequestInit),
    // undici's WebSocket takes the same dispatcher: its Upgrade request goes through the bridge with CONNECT.
    webSocket: (url, protocols) =>
      Promise.resolve(
        new undici.WebSocket(url, { protocols: [...protocols], dispatcher }) as unknown as RuntimeWebSocket,
      ),
    close: () => (closing ??= dispatcher.destroy()),
  };
}

/** npm undici, loaded on first use. */
async function loadUndici(): Promise<typeof Undici> {
  // A computed specifier (the type import above keeps undici a declared dependency): a bundler given the package
  // root for a Cloudflare Worker follows every literal import, and undici needs Node's modules by bare names
  // ("string_decoder") that no Worker has; only Node ever evaluates this line.
  const specifier = ["und", "ici"].join("");
  return await import(specifier) as typeof Undici;
}
