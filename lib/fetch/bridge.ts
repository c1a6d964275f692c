/**
 * The in-process HTTP proxy a runtime's own fetch is pointed at: tabi's server with only its HTTP side on,
 * listening on 127.0.0.1 at a random port, letting in only requests that carry this instance's random Basic
 * credentials (anyone else gets 407), and reaching every destination through the SOCKS chain (fetch_network.ts).
 *
 * @module
 */
import type { Network } from "../net/network.ts";
import { startServer } from "../server/server.ts";
import { chainNetwork, type FailureLog } from "./bridge_network.ts";
import type { HttpProxyTarget } from "./route.ts";
import type { ClientOptions } from "../client/options.ts";
import type { ProxySpec } from "../client/proxy_url.ts";

/** A running bridge. */
export interface FetchBridge {
  /** Where it listens and the credentials it wants. */
  readonly proxy: HttpProxyTarget;
  /** What failed on the way to destinations. */
  readonly failures: FailureLog;
  /** Stops listening and closes every connection; once it resolves, the port refuses connections. */
  close(): Promise<void>;
}

/** Starts a bridge to `chain` on `inner` (the runtime's Network). */
export async function startFetchBridge(
  inner: Network,
  chain: readonly ProxySpec[],
  options: Pick<ClientOptions, "allowLocalDns" | "timeoutMs" | "proxyCa" | "tlsClient">,
): Promise<FetchBridge> {
  const { network, failures } = chainNetwork(inner, chain, options);
  const username = randomToken(9);
  const password = randomToken(24);
  const server = await startServer({
    listen: [{ hostname: "127.0.0.1", port: 0 }],
    protocols: ["http"],
    users: new Map([[username, password]]),
    network,
    // An idle pooled connection is closed by the runtime's fetch, never by the bridge. When a server closes an idle
    // keep-alive connection, a request the client's pool sends on it at that moment fails: it was written, so the
    // client may not resend it (RFC 9112 section 9.3.1 only allows retrying idempotent ones, and Deno's hyper does
    // not). The bridge used to close them at the handshake timeout (30 s), sooner than Deno's pool lets go of them
    // (90 s, measured) and Bun's (measured: still open after 5 minutes); undici's pool (Node) closes after 4 s and
    // tunnels even http:// with CONNECT. With no keep-alive timeout only the client closes, so there is no race. A
    // connection is held that long only after a request that carried this bridge's secret; others keep the
    // handshake timeout, and close() ends them all.
    keepAliveTimeoutMs: 0,
  });
  return {
    proxy: { url: `http://127.0.0.1:${server.addresses[0].port}`, username, password },
    failures,
    close: () => server.close(0),
  };
}

/** `bytes` random bytes as URL-safe base64: a secret that needs no escaping in a URL or a header. */
function randomToken(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
