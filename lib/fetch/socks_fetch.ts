/**
 * `fetch` through a SOCKS proxy or chain, the same in Deno, Bun and Node. In Bun and Node, the runtime's own fetch
 * (its HTTP, TLS, redirects, streaming and abort) is pointed at an in-process HTTP proxy, the bridge (bridge.ts),
 * which reaches each destination through the chain with the client's chain code, names unresolved. What the
 * runtime needs to be pointed at a proxy is a route (route.ts) from lib/runtime; the package root supplies it.
 *
 * In Deno, requests through a chain take tabi's own HTTP/1.1 client over tunnels instead (http_client/), because
 * Deno's proxied fetch leaks: `fetch(url, { client: Deno.createHttpClient({ proxy }) })` looks the URL's host up in
 * the local DNS (A and AAAA) before it sends the request to the proxy, for http and https alike, and for every
 * redirect. A plain Deno script shows it, with no tabi code, under any resolver that logs its queries:
 * `deno eval 'const client = Deno.createHttpClient({ proxy: { url: "http://127.0.0.1:3128" } });
 * await fetch("http://leak-test.example/", { client })'` asks for `leak-test.example` before the proxy sees
 * anything. That is Deno's behaviour, not the proxy's; tabi does not use that path. Edges that cannot point fetch at
 * a proxy at all (Cloudflare Workers) take the same client.
 *
 * @module
 */
import type { Network, StreamTlsClient } from "../net/network.ts";
import type { HostPort } from "../wire/address.ts";
import { SocksError } from "../wire/socks_error.ts";
import { proxyList } from "../client/chain.ts";
import { connect } from "../client/connect.ts";
import { checkPolicy } from "../client/dns_policy.ts";
import { type EnvLookup, proxyFromEnv } from "../client/env.ts";
import { type FetchBridge, startFetchBridge } from "./bridge.ts";
import { fetchFailed } from "./fetch_failed.ts";
import { destinationKey } from "./bridge_network.ts";
import type { FetchRoute, FetchRouteFactory } from "./route.ts";
import type { StreamTls } from "./http_client/stream_tls.ts";
import { type OpenTunnel, tunnelFetch } from "./http_client/tunnel_fetch.ts";
import { urlDestination } from "./url_destination.ts";
import type { ProxyChainInput } from "../client/options.ts";
import { formatProxy, type ProxySpec } from "../client/proxy_url.ts";
import { SocksWebSocket } from "./websocket/socks_websocket.ts";
import { framedTransport } from "./websocket/framed_transport.ts";
import { nativeTransport } from "./websocket/native_transport.ts";
import type { OpenTransport } from "./websocket/transport.ts";

/** Settings of a SOCKS fetch. */
export interface SocksFetchOptions {
  /**
   * The proxy URL, or a list of them for a chain (first hop first). When absent, `ALL_PROXY`/`NO_PROXY` decide per
   * request as {@link proxyFromEnv} reads them, and no proxy at all means a direct fetch.
   */
  readonly proxy?: ProxyChainInput;
  /** Let `socks4://`/`socks5://` proxies resolve destination names on this machine (a DNS leak); off by default. */
  readonly allowLocalDns?: boolean;
  /** PEM text of CA certificates to trust for HTTPS, in addition to the runtime's own store. */
  readonly ca?: string;
  /** PEM text of CA certificates to trust for TLS proxies (`https://`, `socks5h+tls://`) besides the runtime's. */
  readonly proxyCa?: string;
  /** The TLS client for TLS proxies; the package root fills in the running runtime's. */
  readonly tlsClient?: StreamTlsClient;
  /** Time for reaching each destination through the chain (connect and every handshake), in ms. Default 30 000. */
  readonly timeoutMs?: number;
  /** The Network the bridge listens and connects with; the package root fills in the running runtime's. */
  readonly network?: Network;
}

/** The `fetch` init, plus the settings of {@link SocksFetchOptions} for this one request. */
export interface SocksFetchInit extends RequestInit, SocksFetchOptions {}

/** A fetch function bound to its settings, holding its bridges and pooled connections until closed. */
export interface SocksFetch {
  /** Fetches as the runtime's `fetch` does, through the proxy. */
  (input: Request | URL | string, init?: RequestInit): Promise<Response>;
  /**
   * Opens a WebSocket (ws:, wss:; http: and https: stand for them) through the same proxy, sharing this fetch's
   * bridge: the runtime's own WebSocket in Bun and Node, tabi's RFC 6455 client over a tunnel in Deno.
   */
  webSocket(url: string | URL, protocols?: string | readonly string[]): SocksWebSocket;
  /** Closes the bridges and the pooled connections; later calls reject. Resolves once nothing listens. */
  close(): Promise<void>;
  /** The same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What the package root supplies: the runtime's Network, its fetch route, and the environment. */
export interface FetchEdge {
  /** The running runtime's Network (used when the options name none). */
  network(): Promise<Network>;
  /** The running runtime's fetch route. */
  readonly route: FetchRouteFactory;
  /** Environment variables (ALL_PROXY, NO_PROXY). */
  readonly env: EnvLookup;
  /**
   * Present where requests through a chain must not take the runtime's own fetch (Deno, whose proxied fetch looks
   * every name up here first; edges whose fetch cannot be pointed at a proxy): tabi's HTTP/1.1 client over tunnels
   * sends them, with `tls` for https over tunnels that cannot start TLS in place.
   */
  readonly overTunnel?: {
    readonly tls?: () => Promise<StreamTls>;
    /**
     * Why `ca` cannot work on this runtime, where it cannot (Workers: extra CAs are the Worker's configuration):
     * every call of a fetch given `ca` then rejects with it, as an "unsupported" SocksError, on every path.
     */
    readonly caRefusal?: string;
  };
  /** The running runtime's TLS client, for TLS proxies in the chain (used when the options name none). */
  readonly tlsClient?: StreamTlsClient;
}

/**
 * The SocksError in `error`'s `cause` chain (or `error` itself), if any: what a SOCKS fetch's rejection carries.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocksError } from "../wire/socks_error.ts";
 * import { socksCause } from "./socks_fetch.ts";
 * const refused = new SocksError("connection-refused", "the proxy answered 0x05", { reply: 5 });
 * assert.equal(socksCause(new TypeError("fetch failed", { cause: refused })), refused);
 * assert.equal(socksCause(new TypeError("fetch failed")), undefined);
 * ```
 */
export function socksCause(error: unknown): SocksError | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) {
    if (e instanceof SocksError) return e;
  }
  return undefined;
}

/** The own fields of SocksFetchInit, which the runtime's fetch must not see (Bun's reads `proxy`). */
function splitInit(init: SocksFetchInit | undefined): { settings: SocksFetchOptions; rest: RequestInit | undefined } {
  if (init === undefined) return { settings: {}, rest: undefined };
  const { proxy, allowLocalDns, ca, timeoutMs, network, proxyCa, tlsClient, ...rest } = init;
  return { settings: { proxy, allowLocalDns, ca, timeoutMs, network, proxyCa, tlsClient }, rest };
}

/** A URL's destination as the failure log names it. */
function keyOf(url: URL): string {
  return destinationKey(url.hostname, urlDestination(url).port);
}

/** Refuses, before any socket opens, what the chain could only do by resolving a name here ("dns-leak"). */
function checkChain(chain: readonly ProxySpec[], target: HostPort, settings: SocksFetchOptions): void {
  chain.forEach((proxy, i) => {
    const next = chain[i + 1];
    checkPolicy(proxy, next ? { address: next.address, port: next.port } : target, settings);
  });
}

/** One routed fetch: a bridge (absent for a direct route) and the runtime's fetch pointed at it. */
interface Route {
  readonly bridge: FetchBridge | undefined;
  readonly route: FetchRoute;
}

/**
 * A fetch function bound to `options`, on the runtime `edge` supplies (the package root's `createSocksFetch`
 * supplies the running runtime's).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getEnv } from "../runtime/shared/env.ts";
 * import { defaultNetwork } from "../runtime/detect.ts";
 * import { defaultFetchRoute } from "../runtime/fetch_route.ts";
 * import { createSocksFetchOn, socksCause } from "./socks_fetch.ts";
 * const edge = { network: defaultNetwork, route: defaultFetchRoute, env: getEnv };
 * const fetch = createSocksFetchOn({ proxy: "socks5://127.0.0.1:1" }, edge);
 * // socks5:// would resolve the name on this machine: refused before any socket opens.
 * const error = await fetch("http://example.com/").catch((e) => e);
 * assert.equal(socksCause(error)?.code, "dns-leak");
 * await fetch.close();
 * ```
 */
export function createSocksFetchOn(given: SocksFetchOptions, edge: FetchEdge): SocksFetch {
  const options: SocksFetchOptions = { ...given, tlsClient: given.tlsClient ?? edge.tlsClient };
  const routes = new Map<string, Promise<Route>>();
  let closed = false;
  const fixedChain = options.proxy === undefined ? undefined : proxyList(options.proxy);

  const routeFor = (chain: readonly ProxySpec[] | undefined): Promise<Route> => {
    const key = chain === undefined ? "" : chain.map(formatProxy).join(" ");
    let route = routes.get(key);
    if (route === undefined) {
      route = (async () => {
        if (chain === undefined) return { bridge: undefined, route: await edge.route({ ca: options.ca }) };
        const network = options.network ?? await edge.network();
        const bridge = await startFetchBridge(network, chain, options);
        try {
          return { bridge, route: await edge.route({ proxy: bridge.proxy, ca: options.ca }) };
        } catch (error) {
          await bridge.close();
          throw error;
        }
      })();
      routes.set(key, route);
      route.catch(() => routes.delete(key));
    }
    return route;
  };

  // The tunnels open under the HTTP client (each for one request), so that close() can end them.
  const tunnels = new Set<OpenTunnel>();
  const openTunnel =
    (chain: readonly ProxySpec[]) =>
    async (destination: HostPort, signal: AbortSignal | undefined): Promise<OpenTunnel> => {
      const network = options.network ?? await edge.network();
      const tunnel = await connect(chain, destination, {
        network,
        allowLocalDns: options.allowLocalDns,
        timeoutMs: options.timeoutMs,
        signal,
        proxyCa: options.proxyCa,
        tlsClient: options.tlsClient,
      });
      if (closed) {
        tunnel.close();
        throw new SocksError("closed", "this SOCKS fetch was closed");
      }
      const tracked: OpenTunnel = {
        readable: tunnel.readable,
        writable: tunnel.writable,
        close() {
          tunnels.delete(tracked);
          tunnel.close();
        },
        ...(tunnel.startTls === undefined ? {} : { startTls: tunnel.startTls }),
      };
      tunnels.add(tracked);
      return tracked;
    };
  const overTunnel = async (
    chain: readonly ProxySpec[],
    input: Request | URL | string,
    init: RequestInit | undefined,
  ): Promise<Response> => {
    const tls = await edge.overTunnel?.tls?.();
    return await tunnelFetch(input, init, { ca: options.ca, tls, open: openTunnel(chain) });
  };

  /** The WebSocket's transport: a refusal, tabi's client over a tunnel (Deno), or the runtime's own. */
  const webSocketTransport = (url: URL, protocols: readonly string[]): OpenTransport => {
    const refused = (error: unknown): OpenTransport =>
      nativeTransport({ make: () => Promise.reject(error), failure: () => undefined });
    if (closed) return refused(new SocksError("closed", "this SOCKS fetch was closed"));
    // The environment's proxy for a ws: URL is the one for its http: twin (RFC 6455 section 3: same host and port).
    const web = new URL(url.href);
    web.protocol = url.protocol === "wss:" ? "https:" : "http:";
    let chain = fixedChain;
    if (chain === undefined) {
      const fromEnv = proxyFromEnv(web.href, edge.env);
      if (fromEnv !== undefined) chain = proxyList(fromEnv);
    }
    if (chain !== undefined) {
      try {
        checkChain(chain, urlDestination(web), options);
      } catch (error) {
        return refused(error);
      }
    }
    if (chain !== undefined && edge.overTunnel !== undefined) {
      const through = chain;
      return (sink) => {
        let opened: OpenTransport | undefined;
        const pending = (edge.overTunnel?.tls?.() ?? Promise.resolve(undefined)).then((tls) => {
          opened = framedTransport({ url, protocols, ca: options.ca, tls, open: openTunnel(through) });
          return opened;
        });
        // The TLS client loads asynchronously; the transport starts once it has.
        let transport: ReturnType<OpenTransport> | undefined;
        let wanted: [number | undefined, string] | undefined;
        pending.then((open) => {
          transport = open(sink);
          if (wanted !== undefined) transport.close(...wanted);
        }, (error) => {
          sink.error(error);
          sink.closed(1006, "", false);
        });
        return {
          send: (data) => transport?.send(data),
          close: (code, reason) => transport === undefined ? (wanted = [code, reason]) : transport.close(code, reason),
          get bufferedAmount() {
            return transport?.bufferedAmount ?? 0;
          },
        };
      };
    }
    let since = 0;
    let bridge: FetchBridge | undefined;
    return nativeTransport({
      async make() {
        const opened = await routeFor(chain);
        bridge = opened.bridge;
        since = bridge?.failures.next() ?? 0;
        if (opened.route.webSocket === undefined) {
          throw new SocksError("unsupported", "this runtime's fetch route has no WebSocket");
        }
        return await opened.route.webSocket(url.href, protocols);
      },
      failure: () => bridge?.failures.find(since, keyOf(web))?.error,
    });
  };

  const webSocket = (input: string | URL, protocols?: string | readonly string[]): SocksWebSocket => {
    const url = new URL(String(input));
    // The WebSocket standard's URL rules: http(s) stands for ws(s), and nothing else but ws(s) is taken.
    if (url.protocol === "http:") url.protocol = "ws:";
    else if (url.protocol === "https:") url.protocol = "wss:";
    if (url.protocol !== "ws:" && url.protocol !== "wss:") {
      throw new DOMException(`${url.protocol} is not ws: or wss:`, "SyntaxError");
    }
    if (url.hash !== "") throw new DOMException("a WebSocket URL has no fragment", "SyntaxError");
    const list = protocols === undefined ? [] : typeof protocols === "string" ? [protocols] : [...protocols];
    return new SocksWebSocket(url, list, webSocketTransport(url, list));
  };

  const call = async (input: Request | URL | string, given?: RequestInit): Promise<Response> => {
    // Settings belong to createSocksFetch; a `proxy` left in a call's init would reach Bun's fetch as its own.
    const init = splitInit(given).rest;
    if (closed) throw fetchFailed(new SocksError("closed", "this SOCKS fetch was closed"));
    // Refused rather than ignored, for http too: a redirect may lead to https, where it would silently not apply.
    const caRefusal = edge.overTunnel?.caRefusal;
    if (options.ca !== undefined && caRefusal !== undefined) {
      throw fetchFailed(new SocksError("unsupported", caRefusal));
    }
    const url = new URL(input instanceof Request ? input.url : String(input));
    let chain = fixedChain;
    if (chain === undefined) {
      const fromEnv = proxyFromEnv(url.href, edge.env);
      if (fromEnv !== undefined) chain = proxyList(fromEnv);
    }
    const web = url.protocol === "http:" || url.protocol === "https:";
    if (chain !== undefined && web) {
      try {
        checkChain(chain, urlDestination(url), options);
      } catch (error) {
        throw error instanceof SocksError ? fetchFailed(error) : error;
      }
    }
    if (chain !== undefined && web && edge.overTunnel !== undefined) return await overTunnel(chain, input, init);
    const { bridge, route } = await routeFor(chain);
    const since = bridge?.failures.next() ?? 0;
    let response: Response;
    try {
      response = await route.fetch(input, init);
    } catch (error) {
      const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
      if (bridge === undefined || signal?.aborted) throw error;
      const found = bridge.failures.find(since, keyOf(url));
      throw found === undefined ? error : fetchFailed(found.error);
    }
    if (bridge !== undefined && response.status >= 400) {
      // The bridge answers a failed plain-HTTP request with a status; a failure it recorded for this very
      // destination during this call tells its answer from the server's.
      const key = keyOf(new URL(response.url || url.href));
      const found = bridge.failures.find(since, key);
      if (found?.destination === key) {
        await response.body?.cancel().catch(() => {});
        throw fetchFailed(found.error);
      }
    }
    return response;
  };

  const close = async (): Promise<void> => {
    closed = true;
    for (const tunnel of [...tunnels]) tunnel.close();
    const all = [...routes.values()];
    routes.clear();
    for (const pending of all) {
      const opened = await pending.catch(() => undefined);
      if (opened === undefined) continue;
      await opened.route.close();
      await opened.bridge?.close();
    }
  };
  return Object.assign(call, { webSocket, close, [Symbol.asyncDispose]: close });
}

/**
 * One fetch through a SOCKS proxy: `init` takes `proxy`, `allowLocalDns`, `ca` and `timeoutMs` besides fetch's own
 * fields. Its bridge closes once the response body has been read or cancelled (or at once when there is none, or
 * on a rejection): read or cancel the body.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getEnv } from "../runtime/shared/env.ts";
 * import { defaultNetwork } from "../runtime/detect.ts";
 * import { defaultFetchRoute } from "../runtime/fetch_route.ts";
 * import { socksCause, socksFetchOn } from "./socks_fetch.ts";
 * const edge = { network: defaultNetwork, route: defaultFetchRoute, env: getEnv };
 * const error = await socksFetchOn("http://example.com/", { proxy: "socks4://127.0.0.1:1" }, edge).catch((e) => e);
 * assert.equal(socksCause(error)?.code, "dns-leak");
 * ```
 */
export async function socksFetchOn(
  input: Request | URL | string,
  init: SocksFetchInit | undefined,
  edge: FetchEdge,
): Promise<Response> {
  const { settings, rest } = splitInit(init);
  const fetch = createSocksFetchOn(settings, edge);
  let response: Response;
  try {
    response = await fetch(input, rest);
  } catch (error) {
    await fetch.close();
    throw error;
  }
  if (response.body === null) {
    await fetch.close();
    return response;
  }
  return closingWithBody(response, () => fetch.close());
}

/** The same response whose body calls `done` once read to its end, failed or cancelled. */
function closingWithBody(response: Response, done: () => Promise<void>): Response {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    await done();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          controller.close();
          await finish();
        } else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
        await finish();
      }
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
      await finish();
    },
  });
  const copy = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(copy, "url", { value: response.url });
  Object.defineProperty(copy, "redirected", { value: response.redirected });
  return copy;
}
