/**
 * The metrics listener: one small HTTP/1.1 responder for `GET /metrics` (the Prometheus text format) and
 * `GET /healthz` (200 while the server accepts, 503 while it drains), one request per connection. It runs over the
 * same Network interface as the proxy, so it needs no HTTP library.
 *
 * @module
 */
import { ByteReader } from "../lib/io/byte_reader.ts";
import type { Endpoint, Listener, Network } from "../lib/net/network.ts";

/** The longest request head read; a scraper sends a few hundred bytes. */
const MAX_HEAD_BYTES = 8192;
/** A client that sends no complete head in this long is closed. */
const HEAD_TIMEOUT_MS = 10_000;

/** What the responder asks the running server. */
export interface MetricsSource {
  /** The Prometheus text of every worker, summed. */
  metrics(): Promise<string>;
  /** False while the server drains. */
  accepting(): boolean;
}

/** A response: status line, content type and body. */
interface Response {
  readonly status: string;
  readonly type: string;
  readonly body: string;
}

const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";

/** Answers one request line (`GET /metrics HTTP/1.1`). */
async function respond(requestLine: string, source: MetricsSource): Promise<Response> {
  const [method, target, version] = requestLine.split(" ");
  if (!version?.startsWith("HTTP/1.")) return { status: "400 Bad Request", type: TEXT_TYPE, body: "bad request\n" };
  const path = target.split("?")[0];
  if (method !== "GET" && method !== "HEAD") {
    return { status: "405 Method Not Allowed", type: TEXT_TYPE, body: "only GET\n" };
  }
  if (path === "/metrics") return { status: "200 OK", type: PROMETHEUS_TYPE, body: await source.metrics() };
  if (path === "/healthz") {
    return source.accepting()
      ? { status: "200 OK", type: TEXT_TYPE, body: "ok\n" }
      : { status: "503 Service Unavailable", type: TEXT_TYPE, body: "draining\n" };
  }
  return { status: "404 Not Found", type: TEXT_TYPE, body: "not found: try /metrics or /healthz\n" };
}

/** Reads up to the blank line that ends a request head; returns its first line. */
async function readRequestLine(reader: ByteReader): Promise<string> {
  let head = "";
  while (!head.endsWith("\r\n\r\n") && !head.endsWith("\n\n")) {
    if (head.length >= MAX_HEAD_BYTES) throw new Error("request head too long");
    head += String.fromCharCode(await reader.readByte());
  }
  return head.split(/\r?\n/)[0];
}

/**
 * Serves `/metrics` and `/healthz` on `where`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNetwork } from "../lib/runtime/detect.ts";
 * import { startMetricsServer } from "./metrics_server.ts";
 * const network = await defaultNetwork();
 * const listener = await startMetricsServer(network, { hostname: "127.0.0.1", port: 0 }, {
 *   metrics: () => Promise.resolve("tabi_connections_active 0\n"),
 *   accepting: () => true,
 * });
 * assert.ok(listener.address.port > 0);
 * await listener.close();
 * ```
 */
export function startMetricsServer(network: Network, where: Endpoint, source: MetricsSource): Promise<Listener> {
  return network.listen(where, (connection) => {
    const timer = setTimeout(() => connection.close(), HEAD_TIMEOUT_MS);
    (async () => {
      const reader = new ByteReader(connection.readable);
      const requestLine = await readRequestLine(reader);
      const response = await respond(requestLine, source);
      const body = new TextEncoder().encode(requestLine.startsWith("HEAD ") ? "" : response.body);
      const length = new TextEncoder().encode(response.body).length;
      const head = `HTTP/1.1 ${response.status}\r\nContent-Type: ${response.type}\r\n` +
        `Content-Length: ${length}\r\nConnection: close\r\n\r\n`;
      const writer = connection.writable.getWriter();
      const out = new Uint8Array(head.length + body.length);
      out.set(new TextEncoder().encode(head));
      out.set(body, head.length);
      await writer.write(out);
      await writer.close();
    })().catch(() => {
      // A scraper that went away or sent garbage: nothing to answer.
    }).finally(() => {
      clearTimeout(timer);
      connection.close();
    });
  });
}
