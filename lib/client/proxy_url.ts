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
 * TLS to the proxy: `https://` is an HTTPS proxy (HTTP CONNECT inside TLS, as curl, browsers and undici write it),
 * and any SOCKS scheme with `+tls` is SOCKS inside TLS, as gost writes it (`socks5h+tls://`, `socks5+tls://`,
 * `socks+tls://`, `socks4a+tls://`; `http+tls://` is `https://`). The proxy's certificate is checked against the
 * name (or IP address) in the URL.
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
  /**
   * True when the proxy is spoken to inside TLS (`https://`, `socks5h+tls://`, ...), its certificate checked against
   * {@link ProxySpec.address}.
   */
  readonly tls?: boolean;
}

const PLAIN_SCHEMES: Readonly<Record<string, { version: 4 | 5 | "http"; remoteDns: boolean }>> = {
  "socks4:": { version: 4, remoteDns: false },
  "socks4a:": { version: 4, remoteDns: true },
  "socks5:": { version: 5, remoteDns: false },
  "socks5h:": { version: 5, remoteDns: true },
  "socks:": { version: 5, remoteDns: true },
  "http:": { version: "http", remoteDns: true },
};

// Each with "+tls" too (gost's way), and https: for http+tls.
const SCHEMES: Readonly<Record<string, { version: 4 | 5 | "http"; remoteDns: boolean }>> = {
  ...PLAIN_SCHEMES,
  ...Object.fromEntries(Object.entries(PLAIN_SCHEMES).map(([name, scheme]) => [`${name.slice(0, -1)}+tls:`, scheme])),
  "https:": PLAIN_SCHEMES["http:"],
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
    throw bad(
      `unknown scheme "${url.protocol.slice(0, -1)}" (use socks4, socks4a, socks5, socks5h, socks, http or https; ` +
        `+tls after a SOCKS one for TLS)`,
    );
  }
  if (url.hostname === "") throw bad("no host");
  const tls = url.protocol === "https:" || url.protocol.endsWith("+tls:");
  if (url.pathname !== "" && url.pathname !== "/") throw bad(`unexpected path "${url.pathname}"`);
  if (url.search !== "" || url.hash !== "") throw bad("unexpected query or fragment");
  let address: Address;
  try {
    address = parseAddress(url.hostname);
  } catch (error) {
    throw bad((error as Error).message);
  }
  // URL drops an http: URL's port when it is 80 (https: 443), so an explicit one is read from the text itself.
  const special = url.protocol === "http:" ? 80 : url.protocol === "https:" ? 443 : undefined;
  const explicitSpecial = special !== undefined &&
    new RegExp(`^https?://(?:[^@/]*@)?(?:\\[[^\\]]*\\]|[^:/]*):0*${special}(?:[/?#]|$)`, "i").test(text);
  const port = explicitSpecial ? special : url.port === "" ? DEFAULT_SOCKS_PORT : checkPort(Number(url.port));
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
    ...(tls ? { tls } : {}),
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
 * assert.equal(formatProxy(parseProxyUrl("socks+tls://proxy.example")), "socks5h+tls://proxy.example:1080");
 * assert.equal(formatProxy(parseProxyUrl("https://proxy.example:443")), "https://proxy.example:443");
 * ```
 */
export function formatProxy(proxy: ProxySpec): string {
  const plain = proxy.version === "http"
    ? "http"
    : proxy.version === 4
    ? (proxy.remoteDns ? "socks4a" : "socks4")
    : (proxy.remoteDns ? "socks5h" : "socks5");
  const scheme = !proxy.tls ? plain : plain === "http" ? "https" : `${plain}+tls`;
  const host = proxy.address.type === "ipv6" ? `[${proxy.address.host}]` : proxy.address.host;
  const user = proxy.username !== undefined ? `${encodeURIComponent(proxy.username)}@` : "";
  return `${scheme}://${user}${host}:${proxy.port}`;
}

/** A URL with its password replaced, for error messages. */
function redact(text: string): string {
  return text.replace(/^([a-z0-9]+:\/\/[^:@/]*):[^@/]*@/i, "$1:***@");
}
