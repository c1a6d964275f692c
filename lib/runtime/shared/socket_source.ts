/**
 * The read side the Node and Bun adapters share: a byte stream fed by a socket's data events, paused while nobody
 * reads. Both runtimes push chunks at us (Node's `data` event, Bun's `data` handler), so the backpressure, the
 * ownership of chunks and the end of the stream are decided here once.
 *
 * @module
 */
import type { Endpoint } from "../../net/network.ts";
import type { SocksError } from "../../wire/socks_error.ts";

/**
 * How many bytes the readable queues before the socket is paused. Zero: the socket is read only while the relay
 * waits for data, so a tunnel whose far end stops reading holds one socket read here (Node: up to 64 KiB, Bun: up
 * to 512 KiB, the size of its receive buffer) besides the relay's own buffer; the kernel's socket buffers keep the
 * transfer going in between.
 */
export const READ_HIGH_WATER_MARK = 0;

/** What a {@link SocketSource} needs from its socket. */
export interface SocketControl {
  /** Start delivering data again. */
  resume(): void;
  /** Stop delivering data (the queue is full). */
  pause(): void;
  /** The reader gave up: close the socket. */
  cancel(): void;
}

/**
 * A readable byte stream that a socket's data events feed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocketSource } from "./socket_source.ts";
 * let paused = false;
 * const source = new SocketSource({ resume: () => (paused = false), pause: () => (paused = true), cancel() {} });
 * source.push(new Uint8Array([1, 2]));
 * source.end();
 * const reader = source.readable.getReader();
 * assert.deepEqual([...(await reader.read()).value!], [1, 2]);
 * assert.equal((await reader.read()).done, true);
 * assert.equal(paused, true);
 * ```
 */
export class SocketSource {
  /** The stream the socket's data goes to. */
  readonly readable: ReadableStream<Uint8Array>;
  #controller!: ReadableByteStreamController;
  #ended = false;
  #socket: SocketControl;

  /** Makes the stream; the socket should start paused and be resumed when the stream pulls. */
  constructor(socket: SocketControl) {
    this.#socket = socket;
    this.readable = new ReadableStream({
      type: "bytes",
      start: (controller: ReadableByteStreamController) => {
        this.#controller = controller;
      },
      pull: () => socket.resume(),
      cancel: () => {
        this.#ended = true;
        socket.cancel();
      },
    }, { highWaterMark: READ_HIGH_WATER_MARK });
  }

  /** True once the stream ended, failed or was cancelled: later data is dropped. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * True while the stream holds bytes nobody read, waits on a read, or has ended: a native relay (see
   * native_relay.ts) can take the socket over only when the stream is none of these.
   */
  get busy(): boolean {
    return this.#ended || (this.#controller.desiredSize ?? 0) < READ_HIGH_WATER_MARK ||
      this.#controller.byobRequest !== null;
  }

  /** Queues a chunk the socket delivered; the socket stays paused until the stream pulls again. */
  push(chunk: Uint8Array): void {
    if (this.#ended) return;
    // Pause first: enqueue() calls pull() at once if a read still waits (a BYOB read with `min` that this chunk
    // did not fill), and that resume must win.
    this.#socket.pause();
    // A byte stream takes ownership of the chunk's ArrayBuffer; copy unless the chunk owns all of it.
    const owned = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
    this.#controller.enqueue(owned ? new Uint8Array(chunk.buffer as ArrayBuffer) : new Uint8Array(chunk));
  }

  /** The peer's FIN: the stream ends after what is queued. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#controller.close();
    this.#controller.byobRequest?.respond(0);
  }

  /** A reset, a failure or our own close: the stream errors with `reason`. */
  fail(reason: SocksError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#controller.error(reason);
  }
}

/** An address the runtime reports, with a placeholder when the socket is already gone. */
export function endpoint(hostname: string | undefined, port: number | undefined): Endpoint {
  return { hostname: hostname ?? "0.0.0.0", port: port ?? 0 };
}
