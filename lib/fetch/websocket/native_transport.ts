/**
 * A transport over the runtime's own WebSocket (Bun's, pointed at the fetch bridge with its `proxy` option; npm
 * undici's under Node 20, whose `dispatcher` is a ProxyAgent to the bridge): the runtime speaks RFC 6455, tabi only
 * relays its events. When the bridge recorded a failure of the chain for this destination, that SocksError is
 * what the `error` and `close` report, instead of the runtime's bare 1006.
 *
 * @module
 */
import { SocksError } from "../../wire/socks_error.ts";
import { WebSocketClose } from "../../wire/websocket_frame.ts";
import type { OpenTransport, WebSocketTransport } from "./transport.ts";

/** The part of a runtime's WebSocket a native transport uses. */
export interface RuntimeWebSocket {
  binaryType: string;
  readonly protocol: string;
  readonly extensions: string;
  readonly bufferedAmount: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: Event) => void): void;
}

/** What a native transport is made of: the runtime's WebSocket (made asynchronously), and the chain's failures. */
export interface NativeTransportSettings {
  /** Makes the runtime's WebSocket, already connecting. */
  make(): Promise<RuntimeWebSocket>;
  /** The chain's failure for this connection, if the bridge recorded one. */
  failure(): SocksError | undefined;
}

/**
 * A transport relaying the events of the runtime's own WebSocket.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocksError } from "../../wire/socks_error.ts";
 * import { nativeTransport } from "./native_transport.ts";
 * import { SocksWebSocket } from "./socks_websocket.ts";
 * const failed = new SocksError("dns-leak", "socks5:// would resolve the name here");
 * const open = nativeTransport({ make: () => Promise.reject(failed), failure: () => undefined });
 * const ws = new SocksWebSocket(new URL("ws://example.com/"), [], open);
 * const closed = await new Promise<{ reason: string }>((resolve) => (ws.onclose = resolve));
 * assert.match(closed.reason, /^dns-leak: /);
 * ```
 */
export function nativeTransport(settings: NativeTransportSettings): OpenTransport {
  return (sink) => {
    let socket: RuntimeWebSocket | undefined;
    let closeWanted: [number | undefined, string] | undefined;
    let ended = false;
    let opened = false;
    const end = (code: number, reason: string, wasClean: boolean) => {
      if (ended) return;
      ended = true;
      sink.closed(code, reason, wasClean);
    };
    settings.make().then((made) => {
      socket = made;
      made.binaryType = "arraybuffer";
      made.addEventListener("open", () => {
        opened = true;
        sink.open(made.protocol, made.extensions);
      });
      made.addEventListener("message", (event) => {
        const data = (event as MessageEvent).data;
        sink.message(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer));
      });
      made.addEventListener("error", (event) => {
        const cause = settings.failure() ?? (event as ErrorEvent).error ??
          new SocksError("failed", (event as ErrorEvent).message || "the WebSocket connection failed");
        sink.error(cause);
        // undici 6's WebSocket fires `error` for a failed handshake and never `close` (its readyState stays
        // CONNECTING); the standard says a close follows a failure (https://websockets.spec.whatwg.org/#feedback-from-the-protocol).
        if (!opened) setTimeout(() => end(WebSocketClose.Abnormal, "", false), 0);
      });
      made.addEventListener("close", (event) => {
        const { code, reason, wasClean } = event as CloseEvent;
        const failure = wasClean ? undefined : settings.failure();
        if (failure !== undefined) sink.error(failure);
        end(code, reason, wasClean);
      });
      if (closeWanted !== undefined) transport.close(...closeWanted);
    }).catch((error) => {
      sink.error(error);
      end(WebSocketClose.Abnormal, "", false);
    });
    const transport: WebSocketTransport = {
      send(data) {
        socket?.send(data);
      },
      close(code, reason) {
        if (socket === undefined) closeWanted = [code, reason];
        else if (code === undefined) socket.close();
        else socket.close(code, reason);
      },
      get bufferedAmount() {
        return socket?.bufferedAmount ?? 0;
      },
    };
    return transport;
  };
}
