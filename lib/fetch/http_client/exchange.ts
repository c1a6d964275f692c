/**
 * One HTTP/1.1 request and its response over a fresh tunnel (`Connection: close`, RFC 9112 section 9.6): open the
 * tunnel, start TLS to the destination's name for https, send the head and the body, read the response head
 * (skipping 1xx interim responses, RFC 9110 section 15.2), and hand back a Response whose body streams off the
 * connection as its framing says. The tunnel closes when the body ends, fails, is cancelled, or the signal aborts.
 *
 * @module
 */
import type { StartTlsOptions, TlsStreams } from "../../net/network.ts";
import { ByteReader } from "../../io/byte_reader.ts";
import type { Tunnel } from "../../client/tunnel.ts";
import type { HostPort } from "../../wire/address.ts";
import { responseFraming } from "../../wire/http_framing.ts";
import {
  encodeHttpRequestHead,
  type HttpHeader,
  type HttpResponseHead,
  httpResponseHeadDecoder,
} from "../../wire/http_head.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { fetchFailed } from "../fetch_failed.ts";
import { urlDestination, urlHost } from "../url_destination.ts";
import { bodyHeaders, type RequestBody, writeRequest } from "./request_body.ts";
import { framedBody } from "./response_body.ts";
import type { ByteStreams, StreamTls } from "./stream_tls.ts";

/** What the tunnel fetch needs from its caller: a way through the chain, and TLS where the tunnel has none. */
export interface TunnelFetchSettings {
  /** Opens a tunnel to `destination` (through the chain, under its DNS policy); aborting `signal` gives up. */
  open(destination: HostPort, signal: AbortSignal | undefined): Promise<OpenTunnel>;
  /** A TLS client over byte streams, for tunnels that cannot start TLS in place ({@link Tunnel.startTls}). */
  readonly tls?: StreamTls;
  /** PEM text of CA certificates to trust for https besides the runtime's own store. */
  readonly ca?: string;
}

/** What the tunnel fetch uses of a tunnel. */
export type OpenTunnel = Pick<Tunnel, "readable" | "writable" | "close" | "startTls">;

/** One request as sent: after redirects, the method, headers and body may differ from the caller's. */
export interface OutgoingRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Headers;
  readonly body: RequestBody;
}

/** Header fields the client writes itself, or that belong to one connection (RFC 9110 section 7.6.1). */
const OWN_FIELDS = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "content-length",
  "te",
  "trailer",
  "upgrade",
]);

/** Statuses whose responses have no body (RFC 9110 sections 15.2, 15.3.5, 15.3.6, 15.4.5), as fetch's null-body statuses. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** The content codings fetch decodes itself, as the web's DecompressionStream names them. */
const DECODED = { gzip: "gzip", "x-gzip": "gzip", deflate: "deflate" } as const;

/** A failure as fetch reports it: the abort's reason, a TypeError as it is, anything else inside "fetch failed". */
export function fetchError(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  if (error instanceof SocksError) return fetchFailed(error);
  if (error instanceof TypeError) return error;
  return new TypeError(`fetch failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** The request head's fields: Host first, the caller's own, fetch's defaults, the body's framing, then close. */
function requestFields(request: OutgoingRequest): HttpHeader[] {
  const fields: HttpHeader[] = [{ name: "Host", value: request.url.host }];
  for (const [name, value] of request.headers) {
    if (!OWN_FIELDS.has(name)) fields.push({ name, value });
  }
  if (!request.headers.has("accept")) fields.push({ name: "Accept", value: "*/*" });
  if (!request.headers.has("accept-encoding")) fields.push({ name: "Accept-Encoding", value: "gzip, deflate" });
  for (const [name, value] of bodyHeaders(request.body, request.method)) fields.push({ name, value });
  fields.push({ name: "Connection", value: "close" });
  return fields;
}

/** Reads the final response head, past any 1xx interim ones; 101 was not asked for (no Upgrade is sent). */
async function finalHead(reader: ByteReader): Promise<HttpResponseHead> {
  for (;;) {
    const head = await reader.read(httpResponseHeadDecoder());
    if (head.status === 101) throw new SocksError("bad-field", "101 Switching Protocols to a request without Upgrade");
    if (head.status >= 200) return head;
  }
}

/**
 * Sends `request` over a new tunnel and resolves with its response (redirects are the caller's). Rejects as fetch
 * does: with the signal's reason when aborted, else a TypeError whose cause is the SocksError or TLS error.
 */
export async function exchange(
  request: OutgoingRequest,
  settings: TunnelFetchSettings,
  signal: AbortSignal | undefined,
): Promise<Response> {
  signal?.throwIfAborted();
  let tunnel: OpenTunnel;
  try {
    tunnel = await settings.open(urlDestination(request.url), signal);
  } catch (error) {
    throw fetchError(error, signal);
  }
  let tls: TlsStreams | undefined;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    signal?.removeEventListener("abort", close);
    tls?.close();
    tunnel.close();
  };
  signal?.addEventListener("abort", close, { once: true });
  try {
    let streams: ByteStreams = tunnel;
    if (request.url.protocol === "https:") {
      // The certificate is checked against the destination's name, never the proxy's.
      const options: StartTlsOptions = { serverName: urlHost(request.url), ca: settings.ca, alpn: ["http/1.1"] };
      if (tunnel.startTls !== undefined) tls = await tunnel.startTls(options);
      else if (settings.tls !== undefined) tls = await settings.tls(tunnel, options);
      else throw new SocksError("unsupported", "https needs a TLS client, and none was given for this runtime");
      if (closed) tls.close();
      streams = tls;
    }
    signal?.throwIfAborted();
    const target = `${request.url.pathname}${request.url.search}`;
    const head = encodeHttpRequestHead({
      method: request.method,
      target,
      version: "HTTP/1.1",
      headers: requestFields(request),
    });
    const writer = streams.writable.getWriter();
    // The body goes out while the response is awaited: a server may answer before it has read all of it, and
    // stop reading (RFC 9112 section 9.5). A failed send before the answer fails the fetch; after it, the answer
    // stands and only the rest of the body is lost.
    let sendError: unknown;
    let answered = false;
    writeRequest(writer, head, request.body).catch((error) => {
      if (answered) return;
      sendError = error ?? new Error("the request body failed");
      close();
    });
    const reader = new ByteReader(streams.readable, { chunkSize: 64 * 1024 });
    let response: HttpResponseHead;
    try {
      response = await finalHead(reader);
    } catch (error) {
      throw sendError ?? error;
    }
    answered = true;
    return responseOf(response, request.method, reader, close, signal);
  } catch (error) {
    close();
    throw fetchError(error, signal);
  }
}

/** The Response for `head`, its body streamed off `reader` (or none, the tunnel closed at once). */
function responseOf(
  head: HttpResponseHead,
  method: string,
  reader: ByteReader,
  close: () => void,
  signal: AbortSignal | undefined,
): Response {
  if (head.status > 599) {
    throw new SocksError("bad-field", `status ${head.status} is outside what a Response can carry`);
  }
  const headers = new Headers();
  for (const { name, value } of head.headers) headers.append(name, value);
  const framing = responseFraming(head, method);
  let body: ReadableStream<Uint8Array> | null = null;
  if (NULL_BODY.has(head.status) || method === "HEAD" || framing.kind === "none") close();
  else {
    body = framedBody(reader, framing, () => close(), signal, (error) => fetchError(error, signal));
    const coding = headers.get("content-encoding")?.trim().toLowerCase();
    const format = coding === undefined ? undefined : DECODED[coding as keyof typeof DECODED];
    if (format !== undefined) {
      body = body.pipeThrough(new DecompressionStream(format) as ReadableWritablePair<Uint8Array, Uint8Array>);
    }
  }
  return new Response(body, { status: head.status, statusText: head.reason, headers });
}
