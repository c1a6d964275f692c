/**
 * The metrics listener: one small HTTP/1.1 responder for `GET /metrics` (the Prometheus text format) and
 * `GET /healthz` (200 while the server accepts, 503 while it drains), one request per connection. It runs over the
 * same Network interface as the proxy, so it needs no HTTP library.
 *
 * It lives in the proxy's own process and is not counted by `--max-clients`, so it is bounded on its own, as
 * HAProxy's stats frontend is: a few connections at once (one more is closed at once, unanswered) and a short
 * time to send the request head. A scraper sends its head at once and makes one request at a time; without these
 * bounds, a few hundred idle connections to it took the proxy's file descriptors from the clients it serves.
 *
 * @module
 */
import { ByteReader } from "../lib/io/byte_reader.ts";
import type { Endpoint, Listener, Network } from "../lib/net/network.ts";

/** The longest request head read; a scraper sends a few hundred bytes. */
const MAX_HEAD_BYTES = 8192;
/** The metrics listener's bounds (its connections are not the proxy's clients: none of them counts there). */
export const MetricsLimits = {
  /** Connections served at once; Prometheus scrapes one at a time, a person's curl adds one. */
  maxConnections: 8,
  /** A client that sends no complete head in this long is closed. */
  headTimeoutMs: 2_000,
  /** The whole exchange after the head: the answer may wait for every worker's counters (up to 2 s). */
  responseTimeoutMs: 10_000,
} as const;

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
  let open = 0;
  return network.listen(where, (connection) => {
    if (open >= MetricsLimits.maxConnections) {
      // Full: closed unanswered, at once, so that it holds no descriptor; a scraper retries at its next interval.
      connection.close();
      return;
    }
    open++;
    let released = false;
    // Once, whichever comes first: the end of the exchange or a timeout (a read that a close does not wake must not
    // keep its place in the count).
    const release = () => {
      if (released) return;
      released = true;
      open--;
      clearTimeout(timer);
      connection.close();
    };
    let timer = setTimeout(release, MetricsLimits.headTimeoutMs);
    (async () => {
      const reader = new ByteReader(connection.readable);
      const requestLine = await readRequestLine(reader);
      clearTimeout(timer);
      timer = setTimeout(release, MetricsLimits.responseTimeoutMs);
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
    }).finally(release);
  });
}
