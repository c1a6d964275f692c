/**
 * The environment preload (`@tabi/socks/env`): load it before a program you cannot edit, and that program's
 * requests follow `ALL_PROXY`, `HTTPS_PROXY`, `http_proxy` and `NO_PROXY` (and their other-case forms, as curl reads
 * them) through SOCKS4, SOCKS4a, SOCKS5, SOCKS5h or HTTP proxies:
 *
 * - `node --import @tabi/socks/env app.js` (Node 20: with tsx, `node --import tsx --import ./env.ts`),
 * - `bun --preload @tabi/socks/env app.ts`,
 * - `deno run --preload jsr:@tabi/socks/env app.ts` (Deno 2's `--preload`; with a local copy, its path).
 *
 * What follows the variables: the global `fetch`, the global `WebSocket` (Deno and Bun; Node 20 has none), and
 * every `node:http`/`node:https` request that uses the global agents (`http.get`, `https.request`, and the npm
 * packages built on them, such as axios), in Node and Bun and in Deno's node:http too. Loaded with none of the
 * variables set, it changes nothing at all.
 *
 * The DNS rule is curl's, for the scheme the user wrote: `socks5h://` and `socks4a://` pass names to the proxy, and
 * `socks5://` and `socks4://` resolve them on this machine first (curl does the same), so every destination name
 * goes to the local resolver. Use the `h`/`a` forms when the lookups must not be seen here (docs/env_preload.md).
 *
 * Variables whose value is a socks URL are taken out of the process's environment once read (so children the
 * program starts do not inherit them): libraries that read them on their own would misuse them (axios sends plain
 * HTTP proxy requests to the SOCKS port). HTTP proxy URLs stay.
 *
 * A request that names its own route (a `dispatcher` under Node, a `proxy` under Bun, a `client` under Deno, an
 * `agent` of its own for node:http) keeps it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { envProxyInstalled } from "./env.ts";
 * // Without ALL_PROXY, HTTPS_PROXY or http_proxy in the environment, loading it changed nothing.
 * assert.equal(typeof envProxyInstalled, "boolean");
 * ```
 *
 * @module
 */
import { curlProxyFromEnv, envNamesProxy } from "./lib/client/env.ts";
import { proxyList } from "./lib/client/chain.ts";
import { connect } from "./lib/client/connect.ts";
import type { Tunnel } from "./lib/client/tunnel.ts";
import { ipAddress } from "./lib/net/endpoint.ts";
import { defaultNetwork, runtimeName } from "./lib/runtime/detect.ts";
import { deleteEnv, getEnv } from "./lib/runtime/shared/env.ts";
import { socksFetch, socksWebSocket } from "./mod.ts";

/** The settings of a proxy from the environment: curl resolves names here for socks4:// and socks5://. */
function settingsFor(proxy: string): { proxy: string; allowLocalDns: boolean } {
  return { proxy, allowLocalDns: /^socks(4|5):\/\//i.test(proxy) };
}

/** The proxy variables curl reads, in both cases. */
const PROXY_VARIABLES = [
  "all_proxy",
  "ALL_PROXY",
  "https_proxy",
  "HTTPS_PROXY",
  "http_proxy",
  "HTTP_PROXY",
  "no_proxy",
  "NO_PROXY",
] as const;

/** The variables as the preload found them: it decides by these, whatever the program does to its environment. */
const found = new Map<string, string>();
for (const name of PROXY_VARIABLES) {
  const value = getEnv(name);
  if (value !== undefined) found.set(name, value);
}
const env = (name: string): string | undefined => found.get(name);

/** True when the environment named a proxy and the preload installed its hooks. */
export const envProxyInstalled: boolean = envNamesProxy(env);

if (envProxyInstalled) {
  // A socks URL in these variables means nothing to the libraries that read them on their own, and they misuse it:
  // axios (through proxy-from-env) sends plain HTTP proxy requests to the SOCKS port, Node's EnvHttpProxyAgent
  // throws, Bun's fetch refuses it. The preload handles them, so it takes them out of the environment.
  for (const [name, value] of found) if (/^socks/i.test(value)) deleteEnv(name);
}

if (envProxyInstalled) await install();

async function install(): Promise<void> {
  const global = globalThis as unknown as {
    fetch: typeof fetch;
    WebSocket?: new (url: string | URL, protocols?: string | string[]) => WebSocket;
  };
  const runtime = runtimeName();
  const original = global.fetch.bind(globalThis);
  // The runtime routes of socksFetch call the global fetch with their own route in the init: those go as they are.
  const ownRoute = runtime === "node" ? "dispatcher" : runtime === "bun" ? "proxy" : "client";
  global.fetch = function fetch(input: Request | URL | string, init?: RequestInit): Promise<Response> {
    if (init !== undefined && ownRoute in init) return original(input, init);
    const url = input instanceof Request ? input.url : String(input);
    const proxy = curlProxyFromEnv(url, env);
    if (proxy === undefined) return original(input, init);
    return socksFetch(input, { ...init, ...settingsFor(proxy) });
  } as typeof fetch;

  const NativeWebSocket = global.WebSocket;
  if (NativeWebSocket !== undefined) {
    const Proxied = function WebSocket(url: string | URL, protocols?: string | string[]) {
      // Bun's options object (its `proxy`, as socksWebSocket's own route passes it) names a route: kept.
      const ownOptions = typeof protocols === "object" && protocols !== null && !Array.isArray(protocols);
      const proxy = ownOptions ? undefined : curlProxyFromEnv(String(url), env);
      if (proxy === undefined) return new NativeWebSocket(url, protocols);
      return socksWebSocket(url, { ...settingsFor(proxy), protocols });
    };
    Object.assign(Proxied, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
    Proxied.prototype = NativeWebSocket.prototype;
    global.WebSocket = Proxied as unknown as typeof NativeWebSocket;
  }

  // node:http and node:https: the global agents open tunnels (Deno's node:http takes them as Node's does).
  const { tunnelAgent } = await import("./lib/runtime/shared/http_agent.ts");
  // The modules' default exports: their namespace objects are read-only.
  const http = (await import("node:http")).default;
  const https = (await import("node:https")).default;
  const network = await defaultNetwork();
  const open = (url: string, host: string, port: number): Promise<Tunnel> | undefined => {
    const proxy = curlProxyFromEnv(url, env);
    if (proxy === undefined) return undefined;
    const address = ipAddress(host) ?? { type: "domain" as const, host };
    return connect(proxyList(proxy), { address, port }, { network, allowLocalDns: settingsFor(proxy).allowLocalDns });
  };
  http.globalAgent = tunnelAgent(false, open);
  https.globalAgent = tunnelAgent(true, open) as typeof https.globalAgent;
}
