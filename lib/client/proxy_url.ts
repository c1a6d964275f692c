/**
 * Proxy URLs as curl and most tools write them: `socks4://`, `socks4a://`, `socks5://`, `socks5h://` and
 * `socks://`, with `user:pass@` (percent-decoded), IPv6 literals in brackets, and port 1080 by default.
 *
 * Where a name is resolved is part of the scheme: `socks4a://` and `socks5h://` send names to the proxy;
 * `socks4://` and `socks5://` resolve them on this machine, which leaks DNS, so tabi refuses that unless asked.
 *
 * `http://` is an HTTP proxy reached with CONNECT (RFC 9110 section 9.3.6): names go to it, like socks5h, and
 * `user:pass@` becomes Basic proxy authorization. Only CONNECT goes through such a hop (no BIND, UDP or RESOLVE).
 *
 * `socks://` means SOCKS5 with the proxy resolving names (the same as `socks5h://`). curl reads `socks://` as
 * SOCKS4 and other tools as SOCKS5; tabi picks the reading that never leaks DNS and can carry IPv6. Write
 * `socks4://` for curl's.
 *
 * @module
 */
import { type Address, checkPort, parseAddress } from "../wire/address.ts";
import { SocksError } from "../wire/socks_error.ts";

/** A proxy, parsed. */
export interface ProxySpec {
  /** The protocol spoken to the proxy: SOCKS4, SOCKS5, or HTTP CONNECT. */
  readonly version: 4 | 5 | "http";
  /** True when names go to the proxy (socks4a, socks5h, socks, http); false when they are resolved here. */
  readonly remoteDns: boolean;
  /** The proxy's address: an IP literal or a name (resolved here to reach it). */
  readonly address: Address;
  /** The proxy's port (1080 when the URL names none). */
  readonly port: number;
  /** SOCKS5: the RFC 1929 username; SOCKS4: the USERID. */
  readonly username?: string;
  /** SOCKS5: the RFC 1929 password; HTTP: the Basic password. */
  readonly password?: string;
}

const SCHEMES: Readonly<Record<string, { version: 4 | 5 | "http"; remoteDns: boolean }>> = {
  "socks4:": { version: 4, remoteDns: false },
  "socks4a:": { version: 4, remoteDns: true },
  "socks5:": { version: 5, remoteDns: false },
  "socks5h:": { version: 5, remoteDns: true },
  "socks:": { version: 5, remoteDns: true },
  "http:": { version: "http", remoteDns: true },
};

/** The default SOCKS port. */
export const DEFAULT_SOCKS_PORT = 1080;

/**
 * Parses a proxy URL. Throws a SocksError "bad-url" that names the problem.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseProxyUrl } from "./proxy_url.ts";
 * const proxy = parseProxyUrl("socks5h://alice:p%40ss@[::1]");
 * assert.deepEqual(proxy, {
 *   version: 5, remoteDns: true, address: { type: "ipv6", host: "::1" }, port: 1080, username: "alice", password: "p@ss",
 * });
 * ```
 */
export function parseProxyUrl(text: string): ProxySpec {
  const bad = (why: string) => new SocksError("bad-url", `proxy URL "${redact(text)}": ${why}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad("not a URL (expected e.g. socks5h://127.0.0.1:1080)");
  }
  const scheme = SCHEMES[url.protocol];
  if (scheme === undefined) {
    throw bad(`unknown scheme "${url.protocol.slice(0, -1)}" (use socks4, socks4a, socks5, socks5h, socks or http)`);
  }
  if (url.hostname === "") throw bad("no host");
  if (url.pathname !== "" && url.pathname !== "/") throw bad(`unexpected path "${url.pathname}"`);
  if (url.search !== "" || url.hash !== "") throw bad("unexpected query or fragment");
  let address: Address;
  try {
    address = parseAddress(url.hostname);
  } catch (error) {
    throw bad((error as Error).message);
  }
  // URL drops an http: URL's port when it is 80, so an explicit ":80" is read from the text itself.
  const explicit80 = url.protocol === "http:" &&
    /^http:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/]*):0*80(?:[/?#]|$)/i.test(text);
  const port = explicit80 ? 80 : url.port === "" ? DEFAULT_SOCKS_PORT : checkPort(Number(url.port));
  const decode = (part: string, what: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw bad(`${what} has a bad percent-escape`);
    }
  };
  const username = url.username === "" ? undefined : decode(url.username, "username");
  const password = url.password === "" ? undefined : decode(url.password, "password");
  if (scheme.version === 4 && password !== undefined) throw bad("SOCKS4 has a USERID but no password");
  if (password !== undefined && username === undefined) throw bad("a password without a username");
  return {
    ...scheme,
    address,
    port,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

/**
 * Formats a proxy for messages, without its password.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatProxy, parseProxyUrl } from "./proxy_url.ts";
 * assert.equal(formatProxy(parseProxyUrl("socks5h://[::1]:9050")), "socks5h://[::1]:9050");
 * ```
 */
export function formatProxy(proxy: ProxySpec): string {
  const scheme = proxy.version === "http"
    ? "http"
    : proxy.version === 4
    ? (proxy.remoteDns ? "socks4a" : "socks4")
    : (proxy.remoteDns ? "socks5h" : "socks5");
  const host = proxy.address.type === "ipv6" ? `[${proxy.address.host}]` : proxy.address.host;
  const user = proxy.username !== undefined ? `${encodeURIComponent(proxy.username)}@` : "";
  return `${scheme}://${user}${host}:${proxy.port}`;
}

/** A URL with its password replaced, for error messages. */
function redact(text: string): string {
  return text.replace(/^([a-z0-9]+:\/\/[^:@/]*):[^@/]*@/i, "$1:***@");
}
