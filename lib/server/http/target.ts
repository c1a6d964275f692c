/**
 * Request targets a proxy accepts: authority-form for CONNECT (`host:port`), absolute-form `http://` for the rest.
 * Origin-form (`GET / HTTP/1.1`) is not a proxy request: refusing it is what keeps web pages that make a browser
 * talk to the local proxy (DNS rebinding, cross-protocol requests) from using it. `https://` in absolute form is
 * refused too: TLS goes through CONNECT.
 *
 * @module
 */
import { type HostPort, parseHostPort } from "../../wire/address.ts";
import { SocksError } from "../../wire/socks_error.ts";

/** An absolute-form target taken apart. */
export interface AbsoluteTarget {
  readonly destination: HostPort;
  /** The authority as written, for the Host header. */
  readonly authority: string;
  /** The origin-form target for the destination: path and query, `/` at least. */
  readonly path: string;
}

function bad(why: string): SocksError {
  return new SocksError("bad-field", why, { reply: 400 });
}

/** Parses CONNECT's `host:port` (`[v6]:port` for IPv6); the port is required. */
export function authorityTarget(target: string): HostPort {
  if (target.includes("@") || target.includes("/")) throw bad(`CONNECT target "${target}" is not host:port`);
  try {
    return parseHostPort(target);
  } catch (error) {
    throw bad(`CONNECT target: ${(error as Error).message}`);
  }
}

/**
 * Parses an absolute-form `http://` target; throws (400) for origin-form, `https://`, other schemes, user info
 * and fragments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { absoluteTarget } from "./target.ts";
 * assert.equal(absoluteTarget("http://[::1]:8080?q=1").path, "/?q=1");
 * assert.throws(() => absoluteTarget("/index.html"), { reply: 400 });
 * ```
 */
export function absoluteTarget(target: string): AbsoluteTarget {
  const m = /^http:\/\/([^/?#]*)([^#]*)$/i.exec(target);
  if (m === null) {
    if (target.startsWith("/") || target === "*") {
      throw bad("not a proxy request (origin-form target); this is a proxy: use an absolute http:// URL");
    }
    if (/^https:\/\//i.test(target)) throw bad("https:// in absolute form; use CONNECT for TLS");
    if (/^http:\/\//i.test(target)) throw bad("fragment in the request target");
    throw bad(`unsupported request target "${target.slice(0, 60)}" (only http:// URLs are forwarded)`);
  }
  const [, authority, rest] = m;
  if (authority === "") throw bad("no host in the URL");
  if (authority.includes("@")) throw bad("user info in the URL");
  let destination: HostPort;
  try {
    destination = parseHostPort(authority, 80);
  } catch (error) {
    throw bad(`URL host: ${(error as Error).message}`);
  }
  return { destination, authority, path: rest === "" ? "/" : rest.startsWith("?") ? `/${rest}` : rest };
}
