/**
 * The contract between tabi's WebSocket object (socks_websocket.ts) and what carries its messages: the runtime's own
 * WebSocket pointed at the fetch bridge (native_transport.ts), or tabi's RFC 6455 client over a tunnel
 * (framed_transport.ts) where the runtime's WebSocket cannot be pointed at a proxy without a DNS leak.
 *
 * @module
 */

/** What a transport reports to the WebSocket object, in order: open, messages, then at most one error and one close. */
export interface WebSocketSink {
  /** The opening handshake succeeded, with the subprotocol and extensions the server chose. */
  open(protocol: string, extensions: string): void;
  /** A whole message: text as a string, binary as bytes. */
  message(data: string | Uint8Array): void;
  /** The connection failed (an `error` event follows); `cause` is kept, a SocksError names the close's reason. */
  error(cause: unknown): void;
  /** The connection is closed (the `close` event). */
  closed(code: number, reason: string, wasClean: boolean): void;
}

/** What the WebSocket object asks of its transport. */
export interface WebSocketTransport {
  /** Sends one message (called only once open). */
  send(data: string | Uint8Array): void;
  /** Starts the closing handshake, or gives up connecting; `code` undefined sends a close frame without a code. */
  close(code: number | undefined, reason: string): void;
  /** Bytes queued and not yet handed to the network. */
  readonly bufferedAmount: number;
}

/** Starts a transport that reports to `sink` (the handshake runs in the background). */
export type OpenTransport = (sink: WebSocketSink) => WebSocketTransport;
