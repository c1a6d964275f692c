/**
 * The contract between the runtime-neutral fetch (lib/fetch/socks_fetch.ts) and each runtime's own fetch: a route is
 * the runtime's fetch pointed at an HTTP proxy (tabi's in-process bridge) and trusting extra CA certificates. Each
 * runtime implements it in lib/runtime (deno_fetch.ts, bun_fetch.ts, node_fetch.ts); the package root picks one.
 *
 * @module
 */
import type { RuntimeWebSocket } from "./websocket/native_transport.ts";

/** An HTTP proxy the runtime's fetch should use, with the Basic credentials it must send. */
export interface HttpProxyTarget {
  /** `http://127.0.0.1:PORT`, without credentials. */
  readonly url: string;
  /** The user name for `Proxy-Authorization: Basic`. */
  readonly username: string;
  /** The password for `Proxy-Authorization: Basic`. */
  readonly password: string;
}

/** What a route is set up with. */
export interface FetchRouteSettings {
  /** The HTTP proxy to send every request through; absent: direct. */
  readonly proxy?: HttpProxyTarget;
  /** PEM text of CA certificates to trust in addition to the runtime's own store. */
  readonly ca?: string;
}

/** The runtime's fetch, routed. */
export interface FetchRoute {
  /**
   * The runtime's own WebSocket with the route's settings (Bun, Node through undici); absent where the runtime's
   * WebSocket cannot take them (Deno: tabi's own client over a tunnel instead).
   */
  webSocket?(url: string, protocols: readonly string[]): Promise<RuntimeWebSocket>;
  /** The runtime's own fetch with the route's settings applied. */
  fetch(input: Request | URL | string, init?: RequestInit): Promise<Response>;
  /** Releases what the route holds (pooled connections, clients); idempotent. */
  close(): Promise<void>;
}

/** Makes a route: what the package root passes to the runtime-neutral fetch. */
export type FetchRouteFactory = (settings: FetchRouteSettings) => Promise<FetchRoute>;
