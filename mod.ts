/**
 * tabi: a SOCKS4/4a/5 toolkit. One protocol core over WHATWG byte streams, a server, wire codecs, and runtime
 * adapters for Deno, Bun and Node.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSocks5Request, startServer } from "./mod.ts";
 *
 * const server = await startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }] });
 * assert.equal(server.addresses[0].hostname, "127.0.0.1");
 * await server.close();
 *
 * const bytes = encodeSocks5Request({ command: 1, destination: { address: { type: "domain", host: "a.io" }, port: 80 } });
 * assert.equal(bytes[3], 0x03);
 * ```
 *
 * @module
 */
export * from "./lib/wire/constants.ts";
export * from "./lib/wire/socks_error.ts";
export * from "./lib/wire/decoded.ts";
export * from "./lib/wire/address.ts";
export * from "./lib/wire/socks4.ts";
export * from "./lib/wire/socks5_greeting.ts";
export * from "./lib/wire/socks5_request.ts";
export * from "./lib/wire/socks5_udp.ts";
export * from "./lib/wire/userpass.ts";
export * from "./lib/io/byte_reader.ts";
export type * from "./lib/net.ts";
export * from "./lib/relay.ts";
export * from "./lib/server/auth.ts";
export * from "./lib/server/config.ts";
export * from "./lib/server/connection_record.ts";
export * from "./lib/server/rules.ts";
export { resolveConfig, type SocksServer } from "./lib/server/server.ts";
export { defaultNetwork, type RuntimeName, runtimeName } from "./lib/runtime/detect.ts";
export { VERSION } from "./lib/version.ts";
export * from "./lib/cidr.ts";
export * from "./lib/client/proxy_url.ts";
export * from "./lib/client/options.ts";
export * from "./lib/client/tunnel.ts";
export type { Binding } from "./lib/client/bind.ts";
export type { RelayedDatagram, UdpAssociation } from "./lib/client/associate.ts";
export { type EnvLookup, noProxyMatches } from "./lib/client/env.ts";
export * from "./lib/server/limits.ts";

// The package root is an edge: its entry points fill in the running runtime's Network (and environment), then call
// the core in lib/, which never picks a runtime itself.
import { defaultNetwork } from "./lib/runtime/detect.ts";
import { getEnv } from "./lib/runtime/env.ts";
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

async function withNetwork(options: ClientOptions): Promise<NetworkClientOptions> {
  return { ...options, network: options.network ?? await defaultNetwork() };
}

/**
 * Starts a SOCKS4/4a/5 server (one port speaks every version) on the running runtime's Network, unless
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
  return await startServerOn({ ...options, network: options.network ?? await defaultNetwork() });
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
