/**
 * The HTTP side of a connection: HTTP/1.1 proxy requests one after another (keep-alive), each under the same rules,
 * authentication, route and handshake timeout as a SOCKS request, each leaving one log record. CONNECT becomes a
 * tunnel relayed exactly like SOCKS CONNECT; an absolute-form `http://` request is forwarded (forward.ts).
 *
 * @module
 */
import { afterTimeout } from "../../time/deadline.ts";
import { relay } from "../../relay.ts";
import { requestFraming } from "../../wire/http_framing.ts";
import { headerTokens, type HttpRequestHead, httpRequestHeadDecoder } from "../../wire/http_head.ts";
import { SocksError } from "../../wire/socks_error.ts";
import type { ConnectionRecord } from "../connection_record.ts";
import { openRoute } from "../route.ts";
import type { HttpContext, HttpExchange } from "./exchange.ts";
import { forwardRequest } from "./forward.ts";
import { HTTP_AUTH_FAILURES_PER_CONNECTION, PROXY_CHALLENGE, proxyUser, triedCredentials } from "./proxy_auth.ts";
import { type HttpStatusCode, statusFor, statusResponse } from "./status.ts";
import { authorityTarget } from "./target.ts";
import { releaseMapped, settleRequest } from "../mapped_destination.ts";

const CONNECTED = new TextEncoder().encode("HTTP/1.1 200 Connection established\r\n\r\n");

/**
 * Serves HTTP requests on a connection the dispatcher handed over until one ends it, logs one record per request,
 * then ends the connection. Never rejects.
 */
export async function serveHttp(context: HttpContext): Promise<void> {
  context.cancelDeadline();
  try {
    let first = true;
    const logins: Logins = { failed: 0, passed: false };
    for (;;) {
      const record: ConnectionRecord = {
        client: context.client,
        outcome: "ok",
        bytesUp: 0,
        bytesDown: 0,
        durationMs: 0,
      };
      const started = first ? context.started : Date.now();
      const again = await serveRequest(context, record, first, logins);
      if (again === "nothing") return;
      context.log(record, started);
      if (!again) return;
      first = false;
    }
  } finally {
    context.end();
  }
}

/** What one connection's requests tell the next: wrong credentials so far, and whether any request got in. */
interface Logins {
  failed: number;
  passed: boolean;
}

/** Serves one request; true to read another on the same connection, "nothing" when no request came. */
async function serveRequest(
  context: HttpContext,
  record: ConnectionRecord,
  first: boolean,
  logins: Logins,
): Promise<boolean | "nothing"> {
  const { connection, reader, writer, config } = context;
  let timedOut = false;
  // The handshake timeout covers each header block: a slowloris on headers is cut like one on SOCKS. Once a request
  // on the connection got past authentication, the wait for the next one is the keep-alive timeout instead.
  const cancelDeadline = afterTimeout(logins.passed ? config.keepAliveTimeoutMs : config.handshakeTimeoutMs, () => {
    timedOut = true;
    connection.close();
  });
  let exchange: HttpExchange | undefined;
  let head: HttpRequestHead | undefined;
  try {
    try {
      head = await reader.read(httpRequestHeadDecoder());
    } finally {
      cancelDeadline();
    }
    record.method = head.method;
    record.command = head.method === "CONNECT" ? "connect" : "http";
    let user: string | undefined;
    logins.passed = false;
    try {
      user = proxyUser(config, head.headers);
    } finally {
      if (first) context.handshakeDone();
    }
    record.user = user;
    logins.passed = true;
    const connect = head.method === "CONNECT";
    const destination = connect ? authorityTarget(head.target) : undefined;
    exchange = {
      context,
      head,
      record,
      connection,
      config,
      signal: context.signal,
      answered: false,
      request: {
        version: "http",
        command: connect ? "connect" : "http",
        // Forwarding sets its own once the URL is parsed.
        destination: destination ?? { address: { type: "ipv4", host: "0.0.0.0" }, port: 0 },
        user,
      },
    };
    if (connect) {
      await tunnel(exchange, head);
      return false;
    }
    return await forwardRequest(exchange);
  } catch (error) {
    const failure = error instanceof SocksError ? error : new SocksError("failed", String(error), { cause: error });
    if (failure.code === "closed" && record.method === undefined && !first && reader.buffered === 0) {
      return "nothing"; // A keep-alive client that went away (or stayed idle too long) between requests.
    }
    record.outcome = timedOut ? "handshake-timeout" : failure.code;
    record.error = failure.message;
    if (exchange?.answered && failure.code === "quota-exceeded") {
      // A forwarded body cut at the quota's crossing: served, then cut (the tunnels' outcome). A reset, where the
      // runtime has one, tells even a client reading to the end of the connection that the body is incomplete.
      record.outcome = "quota-reached";
      connection.reset?.();
      return false;
    }
    if (timedOut || failure.code === "closed" || exchange?.answered) return false;
    const status = statusFor(failure);
    record.reply = status;
    // A 407 to a request without a body keeps the connection: browsers ask again on it with credentials. Wrong
    // credentials count, and the connection closes once there were too many (password guessing, one per connection).
    if (status === 407 && head !== undefined && triedCredentials(head.headers)) logins.failed++;
    const keepAlive = status === 407 && bodyless(head) && logins.failed < HTTP_AUTH_FAILURES_PER_CONNECTION;
    await writer.write(statusResponse(status, detailFor(status, failure), {
      keepAlive,
      extra: status === 407 ? [PROXY_CHALLENGE] : [],
    })).catch(() => {});
    return keepAlive;
  } finally {
    releaseMapped(config, exchange?.request);
  }
}

function bodyless(head: HttpRequestHead | undefined): boolean {
  if (head === undefined || headerTokens(head.headers, "connection").includes("close")) return false;
  try {
    const framing = requestFraming(head);
    return head.version === "HTTP/1.1" &&
      (framing.kind === "none" || (framing.kind === "length" && framing.length === 0));
  } catch {
    return false;
  }
}

/** What the answer's text says: the client's own mistake in detail, little about the way to the destination. */
function detailFor(status: HttpStatusCode, failure: SocksError): string {
  if (status === 400 || status === 431 || status === 501 || status === 505) return failure.message;
  // A spent quota is named, so that the user knows which limit to ask about.
  if (failure.code === "quota-exceeded") return failure.message;
  if (status === 403) return "denied by the proxy's rules";
  if (status === 407) return "this proxy needs a user name and password (Basic)";
  return failure.code;
}

/** CONNECT: the outbound connection first, then 200, then the relay (bytes sent behind the request kept). */
async function tunnel(exchange: HttpExchange, head: HttpRequestHead): Promise<void> {
  const { record, context } = exchange;
  const request = exchange.request = settleRequest(exchange.config, record, exchange.request);
  const framing = requestFraming(head);
  if (framing.kind === "chunked" || (framing.kind === "length" && framing.length > 0)) {
    throw new SocksError("bad-field", "CONNECT with a body", { reply: 400 });
  }
  const outbound = await openRoute(exchange, request.destination);
  try {
    await context.writer.write(CONNECTED);
  } catch (error) {
    outbound.close();
    throw error;
  }
  exchange.answered = true;
  record.reply = 200;
  const { leftover, reader } = context.reader.detach();
  const { connection } = context;
  const result = await relay(
    {
      // Asked for only by a relay that cannot go native: a direct handshake made no stream (io/byte_source.ts).
      get readable() {
        return connection.readable;
      },
      get writable() {
        return connection.writable;
      },
      leftover,
      reader,
      writer: context.writer,
      close: () => connection.close(),
      // A reset from the destination reaches the client as one: a cut tunnel never looks finished.
      reset: () => (connection.reset ?? connection.close).call(connection),
      // The client's own socket (not a TLS session's plaintext side) relays natively with the destination's.
      native: connection.native,
    },
    outbound,
    {
      idleTimeoutMs: exchange.config.idleTimeoutMs,
      signal: exchange.signal,
      meter: exchange.config.usage.meter(exchange.config.usage.keyOf(request.user, connection.remoteAddress.hostname)),
    },
  );
  record.bytesUp = result.aToB;
  record.bytesDown = result.bToA;
  if (result.outcome !== "done") {
    record.outcome = result.outcome;
    if (result.error) record.error = result.error.message;
  }
}
