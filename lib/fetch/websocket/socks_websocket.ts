/**
 * tabi's WebSocket object: the standard interface (https://websockets.spec.whatwg.org/: events `open`, `message`,
 * `error`, `close` and their `on*` handlers, `send`, `close`, `binaryType`, `protocol`, `extensions`, `readyState`,
 * `bufferedAmount`) over a transport that goes through a SOCKS chain. A failure to connect is an `error` event and
 * then a `close` with code 1006 whose reason starts with the SocksError's code (`dns-leak: ...`), so a program can
 * tell a refused proxy from a refused handshake.
 *
 * @module
 */
import { SocksError } from "../../wire/socks_error.ts";
import { CONTROL_PAYLOAD_LIMIT, WebSocketClose } from "../../wire/websocket_frame.ts";
import type { OpenTransport, WebSocketSink, WebSocketTransport } from "./transport.ts";

/** The ready states (https://websockets.spec.whatwg.org/#dom-websocket-readystate). */
export const WebSocketState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/** The `close` event: a CloseEvent where the runtime has one (Node 20 has none), with the same fields. */
export interface SocksCloseEvent extends Event {
  /** The close code (1006: the connection failed or dropped without a close frame). */
  readonly code: number;
  /** The reason the server sent, or for a failure the SocksError's code and message. */
  readonly reason: string;
  /** True when the closing handshake completed. */
  readonly wasClean: boolean;
}

/** An `on...` event handler property of {@link SocksWebSocket}, as on the standard WebSocket. */
export type WebSocketHandler<E extends Event> = ((event: E) => void) | null;

/** The data `send` takes (https://websockets.spec.whatwg.org/#dom-websocket-send). */
export type WebSocketData = string | ArrayBufferLike | Blob | ArrayBufferView;

function closeEvent(code: number, reason: string, wasClean: boolean): SocksCloseEvent {
  const Native = (globalThis as { CloseEvent?: new (type: string, init: object) => SocksCloseEvent }).CloseEvent;
  if (Native !== undefined) return new Native("close", { code, reason, wasClean });
  return Object.assign(new Event("close"), { code, reason, wasClean });
}

/** The close reason of a failure: the SocksError's code first, cut to what a close frame holds. */
export function failureReason(cause: unknown): string {
  const text = cause instanceof SocksError
    ? `${cause.code}: ${cause.message}`
    : cause instanceof Error
    ? cause.message
    : String(cause ?? "");
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= CONTROL_PAYLOAD_LIMIT - 2) return text;
  return new TextDecoder().decode(bytes.slice(0, CONTROL_PAYLOAD_LIMIT - 2)).replace(/\uFFFD+$/, "");
}

/**
 * A WebSocket through a SOCKS proxy or chain, with the standard interface. Made by `socksWebSocket` and by the
 * `webSocket` method of a `createSocksFetch` object (package root), not directly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocksError } from "../../wire/socks_error.ts";
 * import { SocksWebSocket } from "./socks_websocket.ts";
 * // A transport that fails at once: an error event, then a close whose reason names the SocksError's code.
 * const ws = new SocksWebSocket(new URL("ws://example.com/"), [], (sink) => {
 *   queueMicrotask(() => {
 *     sink.error(new SocksError("connection-refused", "the proxy refused"));
 *     sink.closed(1006, "", false);
 *   });
 *   return { send() {}, close() {}, bufferedAmount: 0 };
 * });
 * const closed = await new Promise<{ code: number; reason: string }>((resolve) => (ws.onclose = resolve));
 * assert.equal(closed.code, 1006);
 * assert.match(closed.reason, /^connection-refused: /);
 * ```
 */
export class SocksWebSocket extends EventTarget {
  /** CONNECTING. */
  static readonly CONNECTING: 0 = 0;
  /** OPEN. */
  static readonly OPEN: 1 = 1;
  /** CLOSING. */
  static readonly CLOSING: 2 = 2;
  /** CLOSED. */
  static readonly CLOSED: 3 = 3;
  /** CONNECTING. */
  readonly CONNECTING: 0 = 0;
  /** OPEN. */
  readonly OPEN: 1 = 1;
  /** CLOSING. */
  readonly CLOSING: 2 = 2;
  /** CLOSED. */
  readonly CLOSED: 3 = 3;

  /** The URL connected to. */
  readonly url: string;
  /** How binary messages arrive: `"blob"` (the default) or `"arraybuffer"`. */
  binaryType: BinaryType = "blob";
  /** Called on `open`. */
  onopen: WebSocketHandler<Event> = null;
  /** Called on `message`. */
  onmessage: WebSocketHandler<MessageEvent> = null;
  /** Called on `error`. */
  onerror: WebSocketHandler<Event> = null;
  /** Called on `close`. */
  onclose: WebSocketHandler<SocksCloseEvent> = null;

  #state: number = WebSocketState.CONNECTING;
  #protocol = "";
  #extensions = "";
  #transport: WebSocketTransport;
  #failure: unknown;
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;
  #dropped = 0;

  /** Connects to `url` asking for `protocols`, over the transport `open` starts. */
  constructor(url: URL, protocols: readonly string[], open: OpenTransport) {
    super();
    this.url = url.href;
    const sink: WebSocketSink = {
      open: (protocol, extensions) => {
        if (this.#state !== WebSocketState.CONNECTING) return;
        this.#state = WebSocketState.OPEN;
        this.#protocol = protocol;
        this.#extensions = extensions;
        this.#fire(new Event("open"), this.onopen);
      },
      message: (data) => {
        if (this.#state !== WebSocketState.OPEN) return;
        let value: string | Blob | ArrayBuffer;
        if (typeof data === "string") value = data;
        else if (this.binaryType === "arraybuffer") {
          value = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
        } else value = new Blob([data as Uint8Array<ArrayBuffer>]);
        this.#fire(new MessageEvent("message", { data: value, origin: url.origin }), this.onmessage);
      },
      error: (cause) => {
        if (this.#state === WebSocketState.CLOSED || this.#failure !== undefined) return;
        this.#failure = cause ?? new Error("the WebSocket connection failed");
        this.#fire(new Event("error"), this.onerror);
      },
      closed: (code, reason, wasClean) => {
        if (this.#state === WebSocketState.CLOSED) return;
        this.#state = WebSocketState.CLOSED;
        const why = !wasClean && reason === "" && this.#failure !== undefined ? failureReason(this.#failure) : reason;
        this.#fire(closeEvent(code, why, wasClean), this.onclose);
      },
    };
    void protocols;
    this.#transport = open(sink);
  }

  /** The ready state: 0 connecting, 1 open, 2 closing, 3 closed. */
  get readyState(): number {
    return this.#state;
  }

  /** The subprotocol the server chose ("" before open or when none). */
  get protocol(): string {
    return this.#protocol;
  }

  /** The extensions the server chose (tabi's own client asks for none). */
  get extensions(): string {
    return this.#extensions;
  }

  /** Bytes queued by `send` and not yet sent. */
  get bufferedAmount(): number {
    return this.#transport.bufferedAmount + this.#queued + this.#dropped;
  }

  /** What made the connection fail, if it did: a SocksError for a failure of the chain. */
  get failure(): unknown {
    return this.#failure;
  }

  /** Sends a message: a string as text, anything else as binary. Throws while connecting. */
  send(data: WebSocketData): void {
    if (this.#state === WebSocketState.CONNECTING) {
      throw new DOMException("the WebSocket is still connecting", "InvalidStateError");
    }
    const size = typeof data === "string" ? new TextEncoder().encode(data).length : sizeOf(data);
    if (this.#state !== WebSocketState.OPEN) {
      // The standard counts data sent after closing in bufferedAmount and drops it.
      this.#dropped += size;
      return;
    }
    if (data instanceof Blob || this.#queued > 0) {
      // A Blob's bytes arrive later: later messages wait for it, so order is kept.
      this.#queued += size;
      this.#queue = this.#queue.then(async () => {
        const bytes = typeof data === "string" ? data : await bytesOf(data);
        this.#queued -= size;
        if (this.#state === WebSocketState.OPEN) this.#transport.send(bytes);
      });
      return;
    }
    this.#transport.send(typeof data === "string" ? data : viewOf(data));
  }

  /** Closes with `code` (1000 or 3000-4999) and `reason` (at most 123 bytes), as the standard says. */
  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== WebSocketClose.Normal && (code < 3000 || code > 4999)) {
      throw new DOMException(`close code ${code} is neither 1000 nor in 3000-4999`, "InvalidAccessError");
    }
    const text = reason ?? "";
    if (new TextEncoder().encode(text).length > CONTROL_PAYLOAD_LIMIT - 2) {
      throw new DOMException("a close reason longer than 123 bytes", "SyntaxError");
    }
    if (this.#state === WebSocketState.CLOSING || this.#state === WebSocketState.CLOSED) return;
    this.#state = WebSocketState.CLOSING;
    this.#transport.close(code, text);
  }

  #fire<E extends Event>(event: E, handler: WebSocketHandler<E>): void {
    if (handler !== null) {
      try {
        handler.call(this, event);
      } catch (error) {
        // A throwing handler must not break the connection; report it as the platform does.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    this.dispatchEvent(event);
  }
}

function sizeOf(data: Exclude<WebSocketData, string>): number {
  return data instanceof Blob ? data.size : data.byteLength;
}

function viewOf(data: ArrayBufferLike | ArrayBufferView): Uint8Array {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return new Uint8Array(data.slice(0));
}

async function bytesOf(data: Exclude<WebSocketData, string>): Promise<Uint8Array> {
  return data instanceof Blob ? new Uint8Array(await data.arrayBuffer()) : viewOf(data);
}
