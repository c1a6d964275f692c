/**
 * Forwarding one absolute-form request (`GET http://host/path HTTP/1.1`): a fresh connection to the destination
 * (or through the upstream chain), an origin-form request with a correct Host and no hop-by-hop headers, both
 * bodies streamed, interim (1xx) answers passed on, and a WebSocket upgrade relayed once the destination agrees.
 * The destination connection carries this one request (`Connection: close`); the client's connection stays open
 * for the next one when both sides' framing allows it.
 *
 * @module
 */
import { ByteReader } from "../../io/byte_reader.ts";
import type { Connection } from "../../net/network.ts";
import { relay } from "../../relay.ts";
import { type BodyFraming, requestFraming, responseFraming } from "../../wire/http_framing.ts";
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
import { copyBody } from "./body.ts";
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

function framingHeaders(framing: BodyFraming | "chunked-out"): HttpHeader[] {
  if (framing === "chunked-out") return [{ name: "Transfer-Encoding", value: "chunked" }];
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
  const out = outbound.writable.getWriter();
  const outReader = new ByteReader(outbound.readable, { chunkSize: 64 * 1024 });
  let uploadDone = false;
  let uploadError: unknown;
  let upload: Promise<void> | undefined;
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
    upload = copyBody(context.reader, out, framing).then((n) => {
      record.bytesUp = n;
      uploadDone = true;
    });
    upload.catch((error) => {
      uploadError = error;
      outbound.close();
    });
    const response = await readFinalResponse(exchange, outReader);
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
    // A body that ends with the connection is chunked for an HTTP/1.1 client, so its connection can stay open.
    const rechunk = rFraming.kind === "close" && head.version === "HTTP/1.1";
    const closeAfter = clientClose || (rFraming.kind === "close" && !rechunk);
    // HEAD and 304 answers carry the length the body would have had: passed on as it came.
    const bodilessLength = rFraming.kind === "none"
      ? headerValues(response.headers, "content-length").slice(0, 1).map((value) => ({ name: "Content-Length", value }))
      : [];
    const responseHeaders = [
      ...endToEnd(response.headers),
      ...bodilessLength,
      ...framingHeaders(rechunk ? "chunked-out" : rFraming),
      ...(closeAfter ? [{ name: "Connection", value: "close" }] : []),
    ];
    await context.writer.write(
      encodeHttpHead(`HTTP/1.1 ${response.status} ${response.reason}`.trimEnd(), responseHeaders),
    );
    exchange.answered = true;
    record.reply = response.status;
    record.bytesDown = await copyBody(outReader, context.writer, rFraming, rechunk ? "chunked" : "same");
    outbound.close();
    // The client's connection is reused only if its request body was read to the end.
    if (!uploadDone) {
      await upload.catch(() => {});
      return false;
    }
    return !closeAfter;
  } catch (error) {
    outbound.close();
    await upload?.catch(() => {});
    // A malformed request body is the client's fault (400), even though it shows as a failed answer.
    if (uploadError instanceof SocksError && uploadError.code.startsWith("bad-")) throw uploadError;
    throw error;
  }
}

/** Reads the destination's answer, passing interim 1xx answers (100 Continue ...) on to the client. */
async function readFinalResponse(exchange: HttpExchange, outReader: ByteReader): Promise<HttpResponseHead> {
  for (;;) {
    let response: HttpResponseHead;
    try {
      response = await outReader.read(httpResponseHeadDecoder());
    } catch (error) {
      // Whatever went wrong (a close before any answer included), the client hears 502.
      throw new SocksError("failed", `destination's answer: ${(error as Error).message}`, { cause: error });
    }
    if (response.status >= 200 || response.status === 101) return response;
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
  out: WritableStreamDefaultWriter<Uint8Array>,
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
      readable: connection.readable,
      writable: connection.writable,
      writer: context.writer,
      close: () => connection.close(),
    },
    { ...server, readable: outbound.readable, writable: outbound.writable, writer: out, close: () => outbound.close() },
    { idleTimeoutMs: exchange.config.idleTimeoutMs, signal: exchange.signal },
  );
  record.bytesUp += result.aToB;
  record.bytesDown += result.bToA;
}
