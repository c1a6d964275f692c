/**
 * Basic proxy authentication (RFC 9110 section 11.7, RFC 7617) against the server's users, with the same
 * constant-time check as RFC 1929 on the SOCKS side. Passwords never leave this file.
 *
 * @module
 */
import { checkPassword, noAuth } from "../auth.ts";
import type { ServerConfig } from "../config.ts";
import { headerValues, type HttpHeader } from "../../wire/http_head.ts";
import { SocksError } from "../../wire/socks_error.ts";

/**
 * How many wrong credentials one connection may send before it is closed: one, as on the SOCKS side, where RFC 1929
 * section 2 has the server close the connection after a failure status. A request with no credentials at all is no
 * guess (a browser asks first without them, then again on the same connection), so it keeps the connection.
 */
export const HTTP_AUTH_FAILURES_PER_CONNECTION = 1;

/** True when `headers` carry credentials (right or wrong): a request that counts as a guess. */
export function triedCredentials(headers: readonly HttpHeader[]): boolean {
  return headerValues(headers, "proxy-authorization").length > 0;
}

/** The challenge sent with 407. */
export const PROXY_CHALLENGE: HttpHeader = { name: "Proxy-Authenticate", value: 'Basic realm="tabi"' };

/**
 * The user a request authenticates as: undefined when the server lets anonymous clients in; throws "auth-failed"
 * (answered 407) when credentials are needed and missing, malformed or wrong.
 */
export function proxyUser(config: ServerConfig, headers: readonly HttpHeader[]): string | undefined {
  if (config.authenticators.includes(noAuth)) return undefined;
  const values = headerValues(headers, "proxy-authorization");
  if (values.length === 0) throw new SocksError("auth-failed", "no Proxy-Authorization");
  if (values.length > 1) throw new SocksError("auth-failed", "several Proxy-Authorization headers");
  const m = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(values[0]);
  if (m === null) throw new SocksError("auth-failed", "Proxy-Authorization is not Basic");
  let text: string;
  try {
    const binary = atob(m[1]);
    text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    throw new SocksError("auth-failed", "Proxy-Authorization: bad Basic credentials");
  }
  const colon = text.indexOf(":");
  if (colon === -1) throw new SocksError("auth-failed", "Proxy-Authorization: no colon in Basic credentials");
  const user = text.slice(0, colon);
  const users = config.socks4Users;
  if (users === undefined || !checkPassword(users, user, text.slice(colon + 1))) {
    throw new SocksError("auth-failed", `wrong user name or password for "${user}"`);
  }
  return user;
}
