/**
 * Forwarding one absolute-form request (`GET http://host/path HTTP/1.1`): a fresh connection to the destination
 * (or through the upstream chain), an origin-form request with a correct Host and no hop-by-hop headers, both
 * bodies streamed, interim (1xx) answers passed on, and a WebSocket upgrade relayed once the destination agrees.
 * The destination connection carries this one request (`Connection: close`); the client's connection stays open
 * for the next one when both sides' framing allows it.
 *
 * @module
 */
import type { ByteSink } from "../../io/byte_sink.ts";
import type { ByteReader } from "../../io/byte_reader.ts";
import { connectionReader, connectionWriter } from "../../net/direct_io.ts";
import type { Connection } from "../../net/network.ts";
import { relay } from "../../relay.ts";
import { type IdleTimer, startIdleTimer } from "../../time/idle_timer.ts";
import { type BodyFraming, requestFraming, responseCodings, responseFraming } from "../../wire/http_framing.ts";
import {
  encodeHttpHead,
  headerTokens,
  headerValues,
  type HttpHeader,
  type HttpResponseHead,
  httpResponseHeadDecoder,
} from "../../wire/http_head.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { openRoute } from "../route.ts";
import { type BodyOutput, copyBody } from "./body.ts";
import type { HttpExchange } from "./exchange.ts";
import { absoluteTarget } from "./target.ts";
import { settleRequest } from "../mapped_destination.ts";

// RFC 9110 section 7.6.1, plus Proxy-Connection (never standard, still sent) and the framing headers, which are
// written anew from the framing actually used.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-authenticate",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "host",
]);

/** The end-to-end headers: without hop-by-hop ones and without those the Connection header names. */
function endToEnd(headers: readonly HttpHeader[]): HttpHeader[] {
  const named = new Set(headerTokens(headers, "connection"));
  return headers.filter((h) => {
    const name = h.name.toLowerCase();
    return !HOP_BY_HOP.has(name) && !named.has(name);
  });
}

function framingHeaders(framing: BodyFraming): HttpHeader[] {
  if (framing.kind === "length") return [{ name: "Content-Length", value: String(framing.length) }];
  if (framing.kind === "chunked") return [{ name: "Transfer-Encoding", value: "chunked" }];
  return [];
}

/** Forwards one request; resolves true when the client connection can carry another request. */
export async function forwardRequest(exchange: HttpExchange): Promise<boolean> {
  const { head, record, context } = exchange;
  const target = absoluteTarget(head.target);
  if (head.version === "HTTP/1.1" && headerValues(head.headers, "host").length !== 1) {
    // RFC 9112 section 3.2: an HTTP/1.1 request with no Host or several is answered 400.
    throw new SocksError("bad-field", "an HTTP/1.1 request needs exactly one Host header", { reply: 400 });
  }
  const framing = requestFraming(head);
  exchange.request = settleRequest(exchange.config, record, { ...exchange.request, destination: target.destination });
  const upgrade = headerTokens(head.headers, "connection").includes("upgrade") &&
    headerTokens(head.headers, "upgrade").includes("websocket");
  const clientClose = head.version === "HTTP/1.0" || headerTokens(head.headers, "connection").includes("close");

  const outbound = await openRoute(exchange, exchange.request.destination);
  // A limited user's (or client's) bodies share the rate and quota of their tunnels (one meter per key).
  const { usage } = exchange.config;
  const meter = usage.empty
    ? undefined
    : usage.meter(usage.keyOf(exchange.request.user, context.connection.remoteAddress.hostname));
  // The destination's socket itself where the adapter reads and writes it directly (net/direct_io.ts).
  const out = connectionWriter(outbound);
  const outReader = connectionReader(outbound, { chunkSize: 64 * 1024 });
  let uploadDone = false;
  let uploadError: unknown;
  let upload: Promise<void> | undefined;
  // The response-head timeout (squid's read_timeout, HAProxy's timeout server): a destination that neither reads
  // the request body nor answers would otherwise hold both connections forever. It counts quiet time, so a long
  // upload the destination keeps reading never trips it; once the answer's head is in, the body streams untimed.
  let responseTimedOut = false;
  const waiting = startIdleTimer(exchange.config.responseTimeoutMs, () => {
    responseTimedOut = true;
    outbound.close();
  });
  // A server that stops (or a session that is cut) lets go of the destination at once, answer or not.
  const stop = () => outbound.close();
  exchange.signal.addEventListener("abort", stop, { once: true });
  const upstream = {
    write: (data: Uint8Array) => {
      waiting.touch();
      return out.write(data);
    },
  };
  try {
    const headers: HttpHeader[] = [
      { name: "Host", value: target.authority },
      ...endToEnd(head.headers),
      ...framingHeaders(framing),
      ...(upgrade
        ? [{ name: "Connection", value: "Upgrade" }, { name: "Upgrade", value: "websocket" }]
        : [{ name: "Connection", value: "close" }]),
    ];
    await out.write(encodeHttpHead(`${head.method} ${target.path} HTTP/1.1`, headers));
    // The request body goes up while the answer is read: a destination may answer before it read it all.
    waiting.touch();
    upload = copyBody(context.reader, upstream, framing, "same", meter, true).then((n) => {
      waiting.touch();
      record.bytesUp = n;
      uploadDone = true;
    });
    upload.catch((error) => {
      uploadError = error;
      outbound.close();
    });
    const response = await readFinalResponse(exchange, outReader, waiting);
    waiting.stop();
    if (response.status === 101) {
      if (!upgrade) throw new SocksError("failed", "101 Switching Protocols to a request that asked for no upgrade");
      await upgradeRelay(exchange, response, outbound, out, outReader);
      return false;
    }
    let rFraming: BodyFraming;
    try {
      rFraming = responseFraming(response, head.method);
    } catch (error) {
      throw new SocksError("failed", `destination's answer: ${(error as Error).message}`, { cause: error });
    }
    // Transfer codings other than chunked (gzip in "gzip, chunked") are part of the body's bytes: the chunked
    // framing is decoded and written anew, the other codings are kept and named again in front of chunked, so the
    // client undoes exactly what the destination applied (RFC 9112 section 6.1; HAProxy answers 502 instead, but
    // passing them on costs nothing and loses nothing). An HTTP/1.0 client knows no transfer coding at all: a body
    // it could not decode is refused with 502, before any byte of it is sent.
    const codings = rFraming.kind === "chunked" || rFraming.kind === "close" ? responseCodings(response) : [];
    if (codings.length > 0 && head.version === "HTTP/1.0") {
      throw new SocksError("failed", `Transfer-Encoding "${codings.join(", ")}" for an HTTP/1.0 client`, {
        reply: 502,
      });
    }
    // A chunked body, or one that ends with the connection, goes chunked to an HTTP/1.1 client (so its connection
    // can stay open) and as bare data to an HTTP/1.0 one, which is closed after it.
    const chunkedOut = head.version === "HTTP/1.1" && (rFraming.kind === "chunked" || rFraming.kind === "close");
    const output: BodyOutput = chunkedOut ? "chunked" : rFraming.kind === "chunked" ? "plain" : "same";
    const closeAfter = clientClose || (rFraming.kind === "close" && !chunkedOut);
    // HEAD and 304 answers carry the length the body would have had: passed on as it came. A 204 never carries
    // one (RFC 9110 section 8.6): a client that believed it would take the next response's start for this body.
    const bodilessLength = rFraming.kind === "none" && response.status !== 204
      ? headerValues(response.headers, "content-length").slice(0, 1).map((value) => ({ name: "Content-Length", value }))
      : [];
    const responseHeaders = [
      ...endToEnd(response.headers),
      ...bodilessLength,
      ...(rFraming.kind === "length" ? framingHeaders(rFraming) : []),
      ...(chunkedOut ? [{ name: "Transfer-Encoding", value: [...codings, "chunked"].join(", ") }] : []),
      ...(closeAfter ? [{ name: "Connection", value: "close" }] : []),
    ];
    await context.writer.write(
      encodeHttpHead(`HTTP/1.1 ${response.status} ${response.reason}`.trimEnd(), responseHeaders),
    );
    exchange.answered = true;
    record.reply = response.status;
    record.bytesDown = await copyBody(outReader, context.writer, rFraming, output, meter, false);
    outbound.close();
    // The client's connection is reused only if its request body was read to the end.
    if (!uploadDone) {
      await upload.catch(() => {});
      return false;
    }
    return !closeAfter;
  } catch (error) {
    waiting.stop();
    outbound.close();
    await upload?.catch(() => {});
    if (responseTimedOut && !exchange.answered) {
      throw new SocksError(
        "timeout",
        `no answer from the destination within ${exchange.config.responseTimeoutMs} ms`,
        { cause: error },
      );
    }
    // A malformed request body is the client's fault (400), even though it shows as a failed answer.
    if (uploadError instanceof SocksError && uploadError.code.startsWith("bad-")) throw uploadError;
    // An upload cut at the quota before any answer: the client hears 403 naming the quota, not 502.
    if (uploadError instanceof SocksError && uploadError.code === "quota-exceeded") throw uploadError;
    throw error;
  } finally {
    exchange.signal.removeEventListener("abort", stop);
  }
}

/** Reads the destination's answer, passing interim 1xx answers (100 Continue ...) on to the client. */
async function readFinalResponse(
  exchange: HttpExchange,
  outReader: ByteReader,
  waiting: IdleTimer,
): Promise<HttpResponseHead> {
  for (;;) {
    let response: HttpResponseHead;
    try {
      response = await outReader.read(httpResponseHeadDecoder());
    } catch (error) {
      // Whatever went wrong (a close before any answer included), the client hears 502.
      throw new SocksError("failed", `destination's answer: ${(error as Error).message}`, { cause: error });
    }
    if (response.status >= 200 || response.status === 101) return response;
    // An interim answer shows the destination at work: its final answer gets the whole time again.
    waiting.touch();
    // RFC 9110 section 15.2: no 1xx goes to an HTTP/1.0 client (it would take it for the final answer).
    if (exchange.head.version === "HTTP/1.0") continue;
    await exchange.context.writer.write(
      encodeHttpHead(`HTTP/1.1 ${response.status} ${response.reason}`.trimEnd(), endToEnd(response.headers)),
    );
  }
}

/** A WebSocket upgrade the destination accepted: pass its 101 on, then relay raw bytes both ways. */
async function upgradeRelay(
  exchange: HttpExchange,
  response: HttpResponseHead,
  outbound: Connection,
  out: ByteSink,
  outReader: ByteReader,
): Promise<void> {
  const { context, record } = exchange;
  await context.writer.write(encodeHttpHead(`HTTP/1.1 101 ${response.reason}`.trimEnd(), [
    ...endToEnd(response.headers),
    { name: "Connection", value: "Upgrade" },
    { name: "Upgrade", value: headerValues(response.headers, "upgrade")[0] ?? "websocket" },
  ]));
  exchange.answered = true;
  record.reply = 101;
  const client = context.reader.detach();
  const server = outReader.detach();
  const { connection } = context;
  const result = await relay(
    {
      ...client,
      get readable() {
        return connection.readable;
      },
      get writable() {
        return connection.writable;
      },
      writer: context.writer,
      close: () => connection.close(),
      reset: () => (connection.reset ?? connection.close).call(connection),
      native: connection.native,
    },
    {
      ...server,
      get readable() {
        return outbound.readable;
      },
      get writable() {
        return outbound.writable;
      },
      writer: out,
      close: () => outbound.close(),
      reset: () => (outbound.reset ?? outbound.close).call(outbound),
      native: outbound.native,
    },
    {
      idleTimeoutMs: exchange.config.idleTimeoutMs,
      signal: exchange.signal,
      // A limited user's or client's upgraded connection is paced and counted like a tunnel.
      meter: exchange.config.usage.meter(
        exchange.config.usage.keyOf(exchange.request.user, connection.remoteAddress.hostname),
      ),
    },
  );
  record.bytesUp += result.aToB;
  record.bytesDown += result.bToA;
}
