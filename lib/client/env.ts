/**
 * Proxies from the environment, the way curl reads them: `ALL_PROXY`/`all_proxy` names the proxy and
 * `NO_PROXY`/`no_proxy` the destinations to reach directly (lowercase first, as curl does).
 *
 * @module
 */
import { ipAddress } from "../net/endpoint.ts";
import { cidrContains, parseCidr } from "../net/cidr.ts";

/** Where variables come from (the package root's `proxyFromEnv` reads the process environment by default). */
export type EnvLookup = (name: string) => string | undefined;

/**
 * True when `host` is excluded by a NO_PROXY list: `*` (everything), a name (itself and its subdomains; a
 * leading dot is ignored), an IP address, or a CIDR range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { noProxyMatches } from "./env.ts";
 * assert.equal(noProxyMatches("localhost,.internal,10.0.0.0/8", "db.internal"), true);
 * assert.equal(noProxyMatches("localhost,.internal,10.0.0.0/8", "10.2.3.4"), true);
 * assert.equal(noProxyMatches("localhost,.internal,10.0.0.0/8", "example.org"), false);
 * ```
 */
export function noProxyMatches(noProxy: string, host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase().replace(/\.$/, "");
  const ip = ipAddress(bare);
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    if (ip !== undefined && (entry.includes("/") || ipAddress(entry.replace(/^\[|\]$/g, "")) !== undefined)) {
      try {
        if (cidrContains(parseCidr(entry.replace(/^\[|\]$/g, "")), ip.host)) return true;
      } catch {
        // Not a range after all: no match.
      }
      continue;
    }
    const name = entry.replace(/^\*?\./, "");
    if (bare === name || bare.endsWith(`.${name}`)) return true;
  }
  return false;
}

/**
 * The proxy URL to use for `url` (or `host:port`): ALL_PROXY unless NO_PROXY excludes the host; undefined for
 * "go direct".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { proxyFromEnv } from "./env.ts";
 * const env = { ALL_PROXY: "socks5h://127.0.0.1:1080", NO_PROXY: "localhost,.internal,10.0.0.0/8" };
 * const lookup = (name: string) => env[name as keyof typeof env];
 * assert.equal(proxyFromEnv("https://example.org/", lookup), "socks5h://127.0.0.1:1080");
 * assert.equal(proxyFromEnv("https://db.internal/", lookup), undefined);
 * assert.equal(proxyFromEnv("10.1.2.3:22", lookup), undefined);
 * ```
 */
export function proxyFromEnv(url: string, env: EnvLookup): string | undefined {
  const proxy = env("all_proxy") || env("ALL_PROXY");
  if (!proxy) return undefined;
  const noProxy = env("no_proxy") || env("NO_PROXY") || "";
  if (noProxy !== "" && noProxyMatches(noProxy, hostOf(url))) return undefined;
  return proxy;
}

function hostOf(url: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `tcp://${url}`;
  try {
    return new URL(withScheme).hostname;
  } catch {
    return url;
  }
}

/**
 * The proxy URL for `url` by curl's rules for the environment (curl's manual, "ENVIRONMENT"): `http_proxy` for
 * http: (lowercase only: an `HTTP_PROXY` could be set by a CGI server from a request's `Proxy:` header, the "httpoxy"
 * problem, so curl ignores it), `HTTPS_PROXY`/`https_proxy` for https:, ws: and wss: as their http: and https:
 * twins, then `ALL_PROXY`/`all_proxy`; `NO_PROXY`/`no_proxy` excludes hosts. A value without a scheme is an HTTP
 * proxy, as curl takes it. Lowercase wins where both are set, as in curl. Undefined means "go direct".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { curlProxyFromEnv } from "./env.ts";
 * const env: Record<string, string> = {
 *   https_proxy: "socks5h://127.0.0.1:1080",
 *   ALL_PROXY: "socks4a://127.0.0.1:9050",
 *   HTTP_PROXY: "http://ignored.example:3128",
 *   NO_PROXY: "localhost",
 * };
 * const lookup = (name: string) => env[name];
 * assert.equal(curlProxyFromEnv("https://example.org/", lookup), "socks5h://127.0.0.1:1080");
 * assert.equal(curlProxyFromEnv("wss://example.org/", lookup), "socks5h://127.0.0.1:1080");
 * assert.equal(curlProxyFromEnv("http://example.org/", lookup), "socks4a://127.0.0.1:9050");
 * assert.equal(curlProxyFromEnv("http://localhost:8080/", lookup), undefined);
 * ```
 */
export function curlProxyFromEnv(url: string, env: EnvLookup): string | undefined {
  let scheme: string;
  try {
    scheme = new URL(url).protocol.slice(0, -1).toLowerCase();
  } catch {
    return undefined;
  }
  const web = scheme === "ws" ? "http" : scheme === "wss" ? "https" : scheme;
  const specific = web === "http" ? env("http_proxy") : env(`${web}_proxy`) || env(`${web.toUpperCase()}_PROXY`);
  const proxy = specific || env("all_proxy") || env("ALL_PROXY");
  if (!proxy) return undefined;
  const noProxy = env("no_proxy") || env("NO_PROXY") || "";
  if (noProxy !== "" && noProxyMatches(noProxy, hostOf(url))) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
}

/** True when the environment names any proxy curl would use (loading the preload without one changes nothing). */
export function envNamesProxy(env: EnvLookup): boolean {
  return ["http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"].some((name) => !!env(name));
}
