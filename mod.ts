/**
 * tabi: a SOCKS4/4a/5 toolkit. A proxy server (one port speaks every SOCKS version and HTTP proxying), client calls
 * (CONNECT, BIND, UDP ASSOCIATE, Tor's RESOLVE) through one proxy or a chain, fetch through SOCKS, proxy URLs and
 * the curl-style environment, and the bidirectional relay, over WHATWG byte streams. The same code runs under Deno,
 * Bun and Node, and the client in Cloudflare Workers (outbound TCP only; see docs/workers.md): the calls here use the
 * running runtime's Network unless given another (`@tabi/socks/deno`, `/bun`, `/node`). Specialist parts have entries of their own: the wire codecs and the ByteReader in `@tabi/socks/wire`,
 * the DNS-leak audit in `@tabi/socks/audit`, GSS-API (RFC 1961) in `@tabi/socks/gssapi`, and the Prometheus text of
 * a server's counters in `@tabi/socks/metrics`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect, startServer } from "./mod.ts";
 *
 * const server = await startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }] });
 * const { port } = server.addresses[0];
 * // A destination nobody listens on: the proxy answers "connection refused", and the client says so.
 * await assert.rejects(connect(`socks5h://127.0.0.1:${port}`, `127.0.0.1:${port === 1 ? 2 : 1}`), {
 *   code: "connection-refused",
 * });
 * await server.close();
 * ```
 *
 * @module
 */
// The package root is an edge: its entry points fill in the running runtime's Network (and environment), then call
// the core in lib/, which never picks a runtime itself. Nothing it reaches imports a node: module statically (a
// bundler would hoist it into a Worker, which cannot load one): the adapters are imported when their runtime runs.
import { defaultNetwork, defaultTlsClient, runtimeName } from "./lib/runtime/detect.ts";
import { getEnv } from "./lib/runtime/shared/env.ts";
import type { ServerOptions } from "./lib/server/config.ts";
import { type SocksServer, startServer as startServerOn } from "./lib/server/server.ts";
import type { Address } from "./lib/wire/address.ts";
import type {
  ClientOptions,
  DestinationInput,
  NetworkClientOptions,
  ProxyChainInput,
  ProxyInput,
} from "./lib/client/options.ts";
import type { Tunnel } from "./lib/client/tunnel.ts";
import { connect as connectOn } from "./lib/client/connect.ts";
import { bind as bindOn, type Binding } from "./lib/client/bind.ts";
import { associate as associateOn, type UdpAssociation } from "./lib/client/associate.ts";
import { resolve as resolveOn, resolvePtr as resolvePtrOn } from "./lib/client/resolve.ts";
import { type EnvLookup, proxyFromEnv as proxyFromEnvIn } from "./lib/client/env.ts";
import {
  createSocksFetchOn,
  type FetchEdge,
  type SocksFetch,
  type SocksFetchInit,
  socksFetchOn,
  type SocksFetchOptions,
} from "./lib/fetch/socks_fetch.ts";
import { defaultFetchRoute } from "./lib/runtime/fetch_route.ts";
import { WORKERS_CA_REFUSAL } from "./lib/runtime/workers/fetch_route.ts";
import type { SocksWebSocket } from "./lib/fetch/websocket/socks_websocket.ts";

// Server.
export type { SocksServer } from "./lib/server/server.ts";
export {
  DEFAULT_LISTEN,
  DEFAULT_TIMEOUTS,
  PROTECTED_WHEN_EXPOSED,
  type ServerOptions,
  type ServerProtocol,
} from "./lib/server/config.ts";
export {
  type AuthContext,
  type Authenticator,
  type AuthResult,
  noAuth,
  userPassAuthenticator,
  type UserTable,
} from "./lib/server/auth.ts";
// The reader a custom Authenticator gets, as types: the class and the codecs it reads with are in ./wire.
export type { ByteReader, DetachedReader, ReleasedStream } from "./lib/io/byte_reader.ts";
export type { ByteSource } from "./lib/io/byte_source.ts";
export type { ByteSink } from "./lib/io/byte_sink.ts";
export type { Complete, Decoded, Decoder, NeedMore } from "./lib/wire/decoded.ts";
export {
  type ConnectionRecord,
  formatRecord,
  type LogFormat,
  type RecordAddressType,
  type RecordVersion,
} from "./lib/server/connection_record.ts";
// Privacy: Tor's SafeSocks/TestSocks judgement and stream isolation's any-credentials method.
export { UNSAFE_REASON } from "./lib/server/safe_socks.ts";
export type { IdentSettings } from "./lib/server/ident_check.ts";
export { anyCredentialsAuthenticator } from "./lib/server/any_credentials.ts";
export type { CommandName, Rule } from "./lib/server/rules.ts";
export { DEFAULT_LIMITS, type LimitName, type LimitReport, type Limits } from "./lib/server/limits.ts";
// Monitoring: the counters of a running server (SocksServer.metrics()); the Prometheus text is in ./metrics.
export type { MetricsSnapshot } from "./lib/server/metrics.ts";
// GSS-API (RFC 1961): the client's options, as a type; the system library, the server's method and the rest are in
// ./gssapi.
export type { GssApiClientOptions } from "./lib/client/gssapi_negotiate.ts";
// Types the options and snapshots above refer to: quotas and rates, the DNS port's name map, outbound addresses,
// relay meters.
export type { UsageLimit } from "./lib/server/usage_control.ts";
export type { QuotaLedger, QuotaPeriod, SavedCount } from "./lib/server/quota_ledger.ts";
export type { MappedFamily, NameMap, NameMapCounters, NameMapOptions } from "./lib/server/name_map.ts";
export type { UserCounts } from "./lib/server/metrics.ts";
export type { LocalAddresses } from "./lib/net/connect_any.ts";
export type { RelayMeter } from "./lib/net/relay_result.ts";
// Client calls: startServer, connect, bind, associate, resolve, resolvePtr and proxyFromEnv are defined below.
export type { Binding } from "./lib/client/bind.ts";
export type { RelayedDatagram, SendOptions, UdpAssociation } from "./lib/client/associate.ts";
export type { Tunnel } from "./lib/client/tunnel.ts";
export type { ClientOptions, DestinationInput, ProxyChainInput, ProxyInput } from "./lib/client/options.ts";
// fetch through SOCKS: socksFetch and createSocksFetch are defined below.
export { socksCause, type SocksFetch, type SocksFetchInit, type SocksFetchOptions } from "./lib/fetch/socks_fetch.ts";
export {
  type SocksCloseEvent,
  SocksWebSocket,
  type WebSocketData,
  type WebSocketHandler,
} from "./lib/fetch/websocket/socks_websocket.ts";
// Proxy URLs and the environment.
export { DEFAULT_SOCKS_PORT, formatProxy, parseProxyUrl, type ProxySpec } from "./lib/client/proxy_url.ts";
export { type EnvLookup, noProxyMatches } from "./lib/client/env.ts";
// Addresses as the calls take and return them (their codecs are in ./wire).
export type { Address, DomainAddress, HostPort, Ipv4Address, Ipv6Address } from "./lib/wire/address.ts";
// Errors.
export { SocksError, type SocksErrorCode, type SocksErrorOptions } from "./lib/wire/socks_error.ts";
// The Network contract and the running runtime.
export type {
  Connection,
  ConnectOptions,
  Datagram,
  Endpoint,
  Listener,
  ListenOptions,
  Network,
  ReleasedBytes,
  StartTlsOptions,
  StreamTlsClient,
  TlsServerSession,
  TlsServerSettings,
  TlsStreams,
  UdpSocket,
} from "./lib/net/network.ts";
export { defaultNetwork, defaultTlsClient, type RuntimeName, runtimeName } from "./lib/runtime/detect.ts";
// The relay.
export { relay, type RelayEnd, type RelayOptions, type RelayResult } from "./lib/relay.ts";
export type { NativeRelayOptions, NativeSocket } from "./lib/net/native_relay.ts";
export { VERSION } from "./lib/version.ts";

async function withNetwork(options: ClientOptions): Promise<NetworkClientOptions> {
  return {
    ...options,
    network: options.network ?? await defaultNetwork(),
    tlsClient: options.tlsClient ?? defaultTlsClient,
  };
}

/**
 * Starts a proxy server (SOCKS4/4a/5 and HTTP on every listener) on the running runtime's Network, unless
 * `options.network` names another. Safe by default: 127.0.0.1:1080, and a non-loopback address without
 * authentication is refused unless `allowOpen` is set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./mod.ts";
 * const server = await startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }] });
 * assert.equal(server.addresses[0].hostname, "127.0.0.1");
 * assert.ok(server.addresses[0].port > 0);
 * await server.close();
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<SocksServer> {
  return await startServerOn({
    ...options,
    network: options.network ?? await defaultNetwork(),
    upstreamTls: { client: defaultTlsClient, ...options.upstreamTls },
  });
}

/**
 * Opens a tunnel to `destination` through `proxy` (a URL, or a list of them for a chain): a byte-stream pair ready
 * for TLS, HTTP or any protocol.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect } from "./mod.ts";
 * // socks5:// would resolve the name here and leak it to the local DNS: refused unless allowed.
 * await assert.rejects(connect("socks5://127.0.0.1:1", "example.com:443"), { code: "dns-leak" });
 * ```
 */
export async function connect(
  proxy: ProxyChainInput,
  destination: DestinationInput,
  options: ClientOptions = {},
): Promise<Tunnel> {
  return await connectOn(proxy, destination, await withNetwork(options));
}

/**
 * Asks the proxy to listen for one connection from `peer` (`0.0.0.0:0` for any peer), FTP-style.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bind } from "./mod.ts";
 * // SOCKS4 carries IPv4 only: refused before anything is sent.
 * await assert.rejects(bind("socks4://127.0.0.1:1", "[::1]:0"), { code: "bad-address-type" });
 * ```
 */
export async function bind(
  proxy: ProxyChainInput,
  peer: DestinationInput,
  options: ClientOptions = {},
): Promise<Binding> {
  return await bindOn(proxy, peer, await withNetwork(options));
}

/**
 * Opens a UDP association through one SOCKS5 proxy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { associate } from "./mod.ts";
 * await assert.rejects(associate("socks4a://127.0.0.1:1"), { code: "unsupported" });
 * ```
 */
export async function associate(proxy: ProxyInput, options: ClientOptions = {}): Promise<UdpAssociation> {
  return await associateOn(proxy, await withNetwork(options));
}

/**
 * Resolves `name` on the proxy (Tor's SOCKS5 RESOLVE), so this machine never looks it up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolve } from "./mod.ts";
 * await assert.rejects(resolve("socks4a://127.0.0.1:1", "example.com"), { code: "unsupported" });
 * ```
 */
export async function resolve(proxy: ProxyChainInput, name: string, options: ClientOptions = {}): Promise<Address> {
  return await resolveOn(proxy, name, await withNetwork(options));
}

/**
 * Asks the proxy for the name of an IP address (Tor's SOCKS5 RESOLVE_PTR).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolvePtr } from "./mod.ts";
 * await assert.rejects(resolvePtr("socks5h://127.0.0.1:1", "example.com"), { code: "bad-address" });
 * ```
 */
export async function resolvePtr(
  proxy: ProxyChainInput,
  address: string,
  options: ClientOptions = {},
): Promise<string> {
  return await resolvePtrOn(proxy, address, await withNetwork(options));
}

/**
 * The proxy URL to use for `url` (or `host:port`), the way curl reads the environment: ALL_PROXY unless NO_PROXY
 * excludes the host; undefined for "go direct". Reads the process environment unless `env` is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { proxyFromEnv } from "./mod.ts";
 * const env: Record<string, string> = { ALL_PROXY: "socks5h://127.0.0.1:1080", NO_PROXY: ".internal" };
 * assert.equal(proxyFromEnv("https://example.org/", (name) => env[name]), "socks5h://127.0.0.1:1080");
 * assert.equal(proxyFromEnv("https://db.internal/", (name) => env[name]), undefined);
 * ```
 */
export function proxyFromEnv(url: string, env: EnvLookup = getEnv): string | undefined {
  return proxyFromEnvIn(url, env);
}

const fetchEdge: FetchEdge = {
  network: defaultNetwork,
  tlsClient: defaultTlsClient,
  route: defaultFetchRoute,
  env: getEnv,
  // Deno's proxied fetch looks every destination name up in the local DNS before it asks the proxy: under Deno,
  // requests through a chain take tabi's HTTP client over the tunnel, with node:tls inside it for https. A Worker's
  // fetch cannot be pointed at a proxy at all (nor can it listen for the bridge): the same client, whose https is
  // the tunnel's own startTls() (cloudflare:sockets), checked against the target's name.
  ...(runtimeName() === "deno"
    ? { overTunnel: { tls: async () => (await import("./lib/runtime/shared/stream_tls.ts")).startStreamTls } }
    : runtimeName() === "workers"
    ? { overTunnel: { caRefusal: WORKERS_CA_REFUSAL } }
    : {}),
};

/**
 * `fetch` through a SOCKS proxy or chain, with no DNS leak, the same in Deno, Bun, Node and Cloudflare Workers:
 * Request and Response, streamed bodies, redirects, AbortSignal, HTTPS verified against the destination's name and
 * the runtime's trust store. In Bun and Node it is the runtime's own fetch routed through an in-process bridge to the
 * proxy. In Deno it is tabi's HTTP/1.1 client over the tunnel (one connection per request), because Deno's own
 * proxied fetch (`Deno.createHttpClient({ proxy })`) looks the URL's host up in the local DNS before it asks the
 * proxy: a Deno behaviour, which tabi does not use. In a Worker it is the same client, with TLS from the tunnel's
 * `startTls()` (`cloudflare:sockets`); extra CAs are the Worker's configuration there, so `ca` is refused. `init`
 * takes `proxy` (a URL or a chain; without it `ALL_PROXY`/`NO_PROXY` decide, and no proxy means a direct fetch),
 * `allowLocalDns`, `ca` (PEM text of extra CA certificates) and `timeoutMs`. HTTP errors are Responses; a failure on
 * the way is a rejection whose `cause` is the SocksError (see `socksCause`). Read or cancel the body: the bridge
 * closes with it. For many requests, use {@link createSocksFetch}, which keeps its connections between calls.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { socksCause, socksFetch } from "./mod.ts";
 * // socks5:// would resolve the name on this machine (a DNS leak): refused before any socket opens.
 * const error = await socksFetch("https://example.com/", { proxy: "socks5://127.0.0.1:1" }).catch((e) => e);
 * assert.ok(error instanceof TypeError);
 * assert.equal(socksCause(error)?.code, "dns-leak");
 * ```
 */
export function socksFetch(input: Request | URL | string, init?: SocksFetchInit): Promise<Response> {
  return socksFetchOn(input, init, fetchEdge);
}

/**
 * A fetch function bound to `options` (`proxy`, `allowLocalDns`, `ca`, `timeoutMs`) that keeps its bridge and
 * pooled connections between calls; `close()` (or `await using`) releases them, after which calls reject.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSocksFetch, socksCause, startServer } from "./mod.ts";
 * // A proxy whose only rule denies everything: it answers "not allowed" (0x02), and the rejection's cause says so.
 * const server = await startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }], rules: [{ action: "deny" }] });
 * const fetch = createSocksFetch({ proxy: `socks5h://127.0.0.1:${server.addresses[0].port}` });
 * const error = await fetch("http://localhost:8080/").catch((e) => e);
 * assert.equal(socksCause(error)?.reply, 0x02);
 * await fetch.close();
 * await server.close();
 * ```
 */
export function createSocksFetch(options: SocksFetchOptions = {}): SocksFetch {
  return createSocksFetchOn(options, fetchEdge);
}

/** Settings of {@link socksWebSocket}: those of a SOCKS fetch, and the subprotocols to offer. */
export interface SocksWebSocketOptions extends SocksFetchOptions {
  /** Subprotocols to offer (Sec-WebSocket-Protocol), as the WebSocket constructor's second argument. */
  readonly protocols?: string | readonly string[];
}

/**
 * A WebSocket (ws:, wss:) through a SOCKS proxy or chain, with the standard interface (events, `send`, `close`,
 * `binaryType`, `protocol`, `readyState`, `bufferedAmount`). In Bun and Node it is the runtime's own WebSocket
 * (Bun's with its `proxy` option, npm undici's under Node 20) pointed at an in-process bridge that reaches the
 * destination through the chain; in Deno, whose WebSocket takes no proxy, it is tabi's own RFC 6455 client over the
 * tunnel. Names are never looked up here with socks5h/socks4a; socks5/socks4 with a name are refused ("dns-leak")
 * unless `allowLocalDns`. A failure is an `error` event, then a `close` (code 1006) whose reason starts with the
 * SocksError's code. Everything it holds is released when it closes. Without `proxy`, `ALL_PROXY`/`NO_PROXY` decide.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { socksWebSocket } from "./mod.ts";
 * // socks5:// would resolve the name on this machine: refused before any socket opens.
 * const ws = socksWebSocket("ws://example.com/chat", { proxy: "socks5://127.0.0.1:1" });
 * const closed = await new Promise<{ code: number; reason: string }>((resolve) => (ws.onclose = resolve));
 * assert.equal(closed.code, 1006);
 * assert.match(closed.reason, /^dns-leak: /);
 * ```
 */
export function socksWebSocket(url: string | URL, options: SocksWebSocketOptions = {}): SocksWebSocket {
  const { protocols, ...settings } = options;
  const fetch = createSocksFetchOn(settings, fetchEdge);
  const ws = fetch.webSocket(url, protocols);
  ws.addEventListener("close", () => void fetch.close());
  return ws;
}
