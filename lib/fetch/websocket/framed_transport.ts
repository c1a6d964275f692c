/**
 * A WebSocket client written by hand (RFC 6455) over a tunnel through the SOCKS chain. It exists for one runtime:
 * Deno's WebSocket takes no proxy, and pointing it anywhere else would look the name up here. Bun and Node use
 * their own WebSocket through the fetch bridge instead (native_transport.ts). The opening handshake is an HTTP/1.1
 * Upgrade (RFC 6455 section 4.1) sent over the tunnel (with TLS inside it for wss, checked against the
 * destination's name); then frames, masked from the client (section 5.3), fragments joined, pings answered, and
 * the closing handshake (section 7). No extension is asked for.
 *
 * @module
 */
import { ByteReader } from "../../io/byte_reader.ts";
import { concatBytes } from "../../io/concat_bytes.ts";
import type { StartTlsOptions, TlsStreams } from "../../net/network.ts";
import {
  encodeHttpRequestHead,
  headerTokens,
  headerValues,
  type HttpHeader,
  httpResponseHeadDecoder,
} from "../../wire/http_head.ts";
import { SocksError } from "../../wire/socks_error.ts";
import {
  CONTROL_PAYLOAD_LIMIT,
  encodeWebSocketFrame,
  WEBSOCKET_GUID,
  WebSocketClose,
  webSocketFrameHeadDecoder,
  WebSocketOpcode,
} from "../../wire/websocket_frame.ts";
import type { OpenTunnel } from "../http_client/exchange.ts";
import type { ByteStreams, StreamTls } from "../http_client/stream_tls.ts";
import { urlDestination, urlHost } from "../url_destination.ts";
import type { HostPort } from "../../wire/address.ts";
import type { OpenTransport, WebSocketSink, WebSocketTransport } from "./transport.ts";

/** The largest message taken (a bigger one closes with 1009, RFC 6455 section 7.4.1). */
export const WEBSOCKET_MESSAGE_LIMIT = 64 * 1024 * 1024;

/** How long the closing handshake may take before the connection is dropped (RFC 6455 section 7.1.1). */
const CLOSE_WAIT_MS = 5_000;

/** What the framed transport needs: the URL, the subprotocols, a way through the chain, and TLS. */
export interface FramedTransportSettings {
  /** A ws: or wss: URL. */
  readonly url: URL;
  /** Subprotocols to offer (Sec-WebSocket-Protocol). */
  readonly protocols: readonly string[];
  /** Opens a tunnel to the destination through the chain. */
  open(destination: HostPort, signal: AbortSignal): Promise<OpenTunnel>;
  /** A TLS client over byte streams, for wss over tunnels that cannot start TLS in place. */
  readonly tls?: StreamTls;
  /** PEM text of CA certificates to trust for wss besides the runtime's own store. */
  readonly ca?: string;
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

async function acceptFor(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + WEBSOCKET_GUID));
  return base64(new Uint8Array(digest));
}

/**
 * A transport that connects through `settings.open` and speaks RFC 6455 itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocksError } from "../../wire/socks_error.ts";
 * import { framedTransport } from "./framed_transport.ts";
 * import { SocksWebSocket } from "./socks_websocket.ts";
 * const refused = () => Promise.reject(new SocksError("connection-refused", "the proxy answered 0x05"));
 * const ws = new SocksWebSocket(
 *   new URL("ws://example.com/"),
 *   [],
 *   framedTransport({ url: new URL("ws://example.com/"), protocols: [], open: refused }),
 * );
 * const closed = await new Promise<{ code: number; reason: string }>((resolve) => (ws.onclose = resolve));
 * assert.equal(closed.code, 1006);
 * assert.match(closed.reason, /^connection-refused/);
 * ```
 */
export function framedTransport(settings: FramedTransportSettings): OpenTransport {
  return (sink) => new FramedConnection(settings, sink);
}

class FramedConnection implements WebSocketTransport {
  #sink: WebSocketSink;
  #abort = new AbortController();
  #tunnel: OpenTunnel | undefined;
  #tls: TlsStreams | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #writes: Promise<void> = Promise.resolve();
  #buffered = 0;
  #open = false;
  #closeSent = false;
  #ended = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(settings: FramedTransportSettings, sink: WebSocketSink) {
    this.#sink = sink;
    this.#run(settings).catch((error) => this.#fail(error));
  }

  get bufferedAmount(): number {
    return this.#buffered;
  }

  send(data: string | Uint8Array): void {
    if (typeof data === "string") this.#frame(WebSocketOpcode.Text, new TextEncoder().encode(data));
    else this.#frame(WebSocketOpcode.Binary, data);
  }

  close(code: number | undefined, reason: string): void {
    if (!this.#open) {
      // Closing while connecting fails the connection (https://websockets.spec.whatwg.org/#dom-websocket-close).
      this.#fail(new SocksError("aborted", "closed before the WebSocket opened"));
      return;
    }
    this.#sendClose(code, reason);
  }

  async #run(settings: FramedTransportSettings): Promise<void> {
    const { url } = settings;
    const tunnel = await settings.open(urlDestination(url), this.#abort.signal);
    this.#tunnel = tunnel;
    if (this.#ended) return tunnel.close();
    let streams: ByteStreams = tunnel;
    if (url.protocol === "wss:" || url.protocol === "https:") {
      // The certificate is checked against the destination's name, never the proxy's.
      const options: StartTlsOptions = { serverName: urlHost(url), ca: settings.ca, alpn: ["http/1.1"] };
      if (tunnel.startTls !== undefined) this.#tls = await tunnel.startTls(options);
      else if (settings.tls !== undefined) this.#tls = await settings.tls(tunnel, options);
      else throw new SocksError("unsupported", "wss needs a TLS client, and none was given for this runtime");
      if (this.#ended) return this.#tls.close();
      streams = this.#tls;
    }
    const key = base64(crypto.getRandomValues(new Uint8Array(16)));
    const headers: HttpHeader[] = [
      { name: "Host", value: url.host },
      { name: "Upgrade", value: "websocket" },
      { name: "Connection", value: "Upgrade" },
      { name: "Sec-WebSocket-Key", value: key },
      { name: "Sec-WebSocket-Version", value: "13" },
    ];
    if (settings.protocols.length > 0) {
      headers.push({ name: "Sec-WebSocket-Protocol", value: settings.protocols.join(", ") });
    }
    this.#writer = streams.writable.getWriter();
    const target = `${url.pathname}${url.search}`;
    await this.#writer.write(encodeHttpRequestHead({ method: "GET", target, version: "HTTP/1.1", headers }));
    const reader = new ByteReader(streams.readable, { chunkSize: 64 * 1024 });
    const head = await reader.read(httpResponseHeadDecoder());
    // RFC 6455 section 4.1, the client's checks of the server's handshake.
    if (head.status !== 101) {
      throw new SocksError("rejected", `the server answered the WebSocket handshake with ${head.status}`);
    }
    if (!headerTokens(head.headers, "upgrade").includes("websocket")) {
      throw new SocksError("bad-field", "the server's 101 has no Upgrade: websocket");
    }
    if (!headerTokens(head.headers, "connection").includes("upgrade")) {
      throw new SocksError("bad-field", "the server's 101 has no Connection: Upgrade");
    }
    if (headerValues(head.headers, "sec-websocket-accept")[0]?.trim() !== await acceptFor(key)) {
      throw new SocksError("bad-field", "the server's Sec-WebSocket-Accept does not match the key");
    }
    const protocol = headerValues(head.headers, "sec-websocket-protocol")[0]?.trim() ?? "";
    if (protocol !== "" && !settings.protocols.includes(protocol)) {
      throw new SocksError("bad-field", `the server chose subprotocol "${protocol}", which was not offered`);
    }
    const extensions = headerValues(head.headers, "sec-websocket-extensions").join(", ");
    if (extensions !== "") throw new SocksError("bad-field", "the server chose extensions, and none were offered");
    if (this.#ended) return;
    this.#open = true;
    this.#sink.open(protocol, "");
    await this.#readFrames(reader);
  }

  async #readFrames(reader: ByteReader): Promise<void> {
    const text = new TextDecoder("utf-8", { fatal: true });
    let parts: Uint8Array[] = [];
    let size = 0;
    let kind: number | undefined;
    for (;;) {
      let head;
      try {
        head = await reader.read(webSocketFrameHeadDecoder());
      } catch (error) {
        if (error instanceof SocksError && error.code === "closed") return this.#dropped();
        throw error;
      }
      if (head.mask !== undefined) {
        return this.#protocolError(WebSocketClose.ProtocolError, "a masked frame from the server");
      }
      const control = head.opcode >= WebSocketOpcode.Close;
      if (control && (head.length > CONTROL_PAYLOAD_LIMIT || !head.fin)) {
        return this.#protocolError(WebSocketClose.ProtocolError, "a fragmented or long control frame");
      }
      if (!control && size + head.length > WEBSOCKET_MESSAGE_LIMIT) {
        return this.#protocolError(WebSocketClose.TooBig, "a message over the limit");
      }
      const payload = head.length === 0 ? new Uint8Array(0) : await reader.readExactly(head.length);
      switch (head.opcode) {
        case WebSocketOpcode.Ping:
          this.#frame(WebSocketOpcode.Pong, payload);
          continue;
        case WebSocketOpcode.Pong:
          continue;
        case WebSocketOpcode.Close:
          return this.#closeReceived(payload);
        case WebSocketOpcode.Text:
        case WebSocketOpcode.Binary:
          if (kind !== undefined) {
            return this.#protocolError(WebSocketClose.ProtocolError, "a new message inside a fragmented one");
          }
          kind = head.opcode;
          break;
        case WebSocketOpcode.Continuation:
          if (kind === undefined) {
            return this.#protocolError(WebSocketClose.ProtocolError, "a continuation with no message");
          }
          break;
        default:
          return this.#protocolError(WebSocketClose.ProtocolError, `opcode ${head.opcode}`);
      }
      parts.push(payload);
      size += payload.length;
      if (!head.fin) continue;
      const whole = concatBytes(parts);
      const wasText = kind === WebSocketOpcode.Text;
      parts = [];
      size = 0;
      kind = undefined;
      if (wasText) {
        let message: string;
        try {
          message = text.decode(whole);
        } catch {
          return this.#protocolError(WebSocketClose.InvalidData, "a text message that is not UTF-8");
        }
        this.#sink.message(message);
      } else this.#sink.message(whole);
    }
  }

  #frame(opcode: number, payload: Uint8Array): void {
    const writer = this.#writer;
    if (writer === undefined || this.#ended) return;
    const frame = encodeWebSocketFrame(opcode, payload, crypto.getRandomValues(new Uint8Array(4)));
    this.#buffered += payload.length;
    this.#writes = this.#writes.then(() => writer.write(frame)).then(
      () => {
        this.#buffered -= payload.length;
      },
      (error) => {
        this.#buffered -= payload.length;
        this.#fail(error);
      },
    );
  }

  #sendClose(code: number | undefined, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    let payload = new Uint8Array(0);
    if (code !== undefined) {
      const text = new TextEncoder().encode(reason);
      payload = new Uint8Array(2 + text.length);
      new DataView(payload.buffer).setUint16(0, code);
      payload.set(text, 2);
    }
    this.#frame(WebSocketOpcode.Close, payload);
    this.#closeTimer = setTimeout(() => this.#finish(WebSocketClose.Abnormal, "", false), CLOSE_WAIT_MS);
  }

  /** The server's close frame (RFC 6455 section 5.5.1): echo it if this side has not sent one, then end. */
  async #closeReceived(payload: Uint8Array): Promise<void> {
    let code: number = WebSocketClose.NoStatus;
    let reason = "";
    if (payload.length === 1) return this.#protocolError(WebSocketClose.ProtocolError, "a close frame of one byte");
    if (payload.length >= 2) {
      code = new DataView(payload.buffer, payload.byteOffset).getUint16(0);
      try {
        reason = new TextDecoder("utf-8", { fatal: true }).decode(payload.subarray(2));
      } catch {
        return this.#protocolError(WebSocketClose.InvalidData, "a close reason that is not UTF-8");
      }
    }
    if (!this.#closeSent) this.#sendClose(code === WebSocketClose.NoStatus ? undefined : code, "");
    await this.#writes;
    this.#finish(code, reason, true);
  }

  async #protocolError(code: number, why: string): Promise<void> {
    this.#sink.error(new SocksError("bad-field", `WebSocket protocol error: ${why}`));
    this.#sendClose(code, "");
    await this.#writes;
    this.#finish(WebSocketClose.Abnormal, "", false);
  }

  #dropped(): void {
    // The connection ended without a close frame (RFC 6455 section 7.1.5: 1006).
    if (!this.#closeSent) {
      this.#sink.error(new SocksError("closed", "the WebSocket connection ended without a close frame"));
    }
    this.#finish(WebSocketClose.Abnormal, "", false);
  }

  #fail(error: unknown): void {
    if (this.#ended) return;
    this.#sink.error(error);
    this.#finish(WebSocketClose.Abnormal, "", false);
  }

  #finish(code: number, reason: string, wasClean: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#closeTimer);
    this.#abort.abort(new SocksError("aborted", "the WebSocket was closed"));
    this.#writer?.releaseLock();
    this.#tls?.close();
    this.#tunnel?.close();
    this.#sink.closed(code, reason, wasClean);
  }
}
