/**
 * fetch over tunnels, with no runtime fetch underneath: each request (and each redirect) goes over a tunnel its
 * caller opens through the SOCKS chain, so no name is ever looked up here (with socks5h/socks4a), and TLS runs
 * inside the tunnel, checked against the destination's name. It is the path where a runtime's own fetch cannot be
 * pointed at a proxy without a leak (Deno: its proxied fetch resolves the URL's host locally first) or at all
 * (Cloudflare Workers). Redirects follow fetch's rules (https://fetch.spec.whatwg.org/#http-redirect-fetch).
 *
 * @module
 */
import { exchange, type OutgoingRequest, type TunnelFetchSettings } from "./exchange.ts";
import { type RequestBody, requestBody } from "./request_body.ts";

export type { OpenTunnel, TunnelFetchSettings } from "./exchange.ts";

/** fetch's limit on redirects followed (https://fetch.spec.whatwg.org/#http-redirect-fetch, step 5). */
export const MAX_REDIRECTS = 20;

/** The statuses that redirect (RFC 9110 section 15.4), and the ones that keep the method and the body. */
const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** The request-body header names a redirect that drops the body drops too (fetch, "request-body-header name"). */
const BODY_FIELDS = ["content-encoding", "content-language", "content-location", "content-type"] as const;

function failed(why: string): TypeError {
  return new TypeError(`fetch failed: ${why}`);
}

/** The same response, with `url` and `redirected` as fetch would set them. */
function located(response: Response, url: URL, redirected: boolean): Response {
  Object.defineProperty(response, "url", { value: url.href });
  Object.defineProperty(response, "redirected", { value: redirected });
  return response;
}

/**
 * Fetches `input` as fetch does (methods, headers, bodies as bytes or streams, redirects `follow`/`manual`/`error`,
 * AbortSignal at every step), each request over a tunnel from `settings.open`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocksError } from "../../wire/socks_error.ts";
 * import { tunnelFetch } from "./tunnel_fetch.ts";
 * // A chain that refuses: the rejection is fetch's TypeError, with the SocksError as its cause.
 * const refusal = new SocksError("connection-refused", "the proxy answered 0x05", { reply: 5 });
 * const error = await tunnelFetch("http://example.com/", undefined, { open: () => Promise.reject(refusal) })
 *   .catch((e) => e);
 * assert.ok(error instanceof TypeError);
 * assert.equal(error.cause, refusal);
 * ```
 */
export async function tunnelFetch(
  input: Request | URL | string,
  init: RequestInit | undefined,
  settings: TunnelFetchSettings,
): Promise<Response> {
  const request = new Request(input, init);
  const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
  signal?.throwIfAborted();
  const mode = init?.redirect ?? request.redirect;
  let url = new URL(request.url);
  url.hash = "";
  if (url.protocol !== "http:" && url.protocol !== "https:") throw failed(`${url.protocol} is not http: or https:`);
  let method = request.method;
  const headers = new Headers(request.headers);
  let body: RequestBody = await requestBody(request, input, init);
  for (let redirects = 0;; redirects++) {
    const outgoing: OutgoingRequest = { url, method, headers, body };
    const response = await exchange(outgoing, settings, signal);
    const location = response.headers.get("location");
    if (!REDIRECT.has(response.status) || location === null || mode === "manual") {
      return located(response, url, redirects > 0);
    }
    await response.body?.cancel();
    if (mode === "error") throw failed(`redirected (${response.status}) and the request's redirect mode is "error"`);
    if (redirects === MAX_REDIRECTS) throw failed(`more than ${MAX_REDIRECTS} redirects`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw failed(`a redirect to a bad Location "${location.slice(0, 80)}"`);
    }
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      throw failed(`a redirect to ${next.protocol}, which is not http: or https:`);
    }
    const status = response.status;
    if (
      (status === 303 && method !== "GET" && method !== "HEAD") ||
      ((status === 301 || status === 302) && method === "POST")
    ) {
      method = "GET";
      body = { kind: "none" };
      for (const name of BODY_FIELDS) headers.delete(name);
    } else if (body.kind === "stream") {
      // The stream was sent once and is gone; fetch fails the same way (its body source is null).
      throw failed(`a ${status} redirect must resend the body, and a streamed body cannot be sent twice`);
    }
    // Credentials meant for one origin do not follow a redirect to another (fetch, step 13).
    if (next.origin !== url.origin) headers.delete("authorization");
    next.hash = "";
    url = next;
  }
}
