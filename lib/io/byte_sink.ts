/**
 * Where a handshake writes: a stream's writer, or a socket its adapter writes directly (the fast path that goes with
 * io/byte_source.ts). The shape is the part of `WritableStreamDefaultWriter` the server uses, so a stream's writer
 * is one as it is.
 *
 * @module
 */

/** Writes bytes in order; closing sends FIN (half-close). A `WritableStreamDefaultWriter` is one. */
export interface ByteSink {
  /** Resolves once the bytes were handed to the runtime (the caller may reuse the array then). */
  write(chunk: Uint8Array): Promise<void>;
  /** Half-closes: FIN after everything written. */
  close(): Promise<void>;
  /** Gives up: the connection closes. */
  abort(reason?: unknown): Promise<void>;
  /** Lets the underlying stream go (nothing to do for a socket written directly). */
  releaseLock(): void;
}

/** What a {@link SocketSink} writes with: the adapter's own write, half-close and close of one socket. */
export interface SocketWrites {
  /** Writes all of `chunk`; resolves once the runtime took it. */
  writeBytes(chunk: Uint8Array): Promise<void>;
  /** Sends FIN once everything written went out. */
  closeWrite(): Promise<void>;
  /** Closes both directions now. */
  close(): void;
}

/**
 * A {@link ByteSink} over a socket its adapter writes directly. Writes go out in the order they were made, one after
 * the other, as a stream's would: a partial write waiting for the socket to drain is never overtaken; after a failed
 * write, every later one fails too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocketSink } from "./byte_sink.ts";
 * const written: number[] = [];
 * let closed = false;
 * const sink = new SocketSink({
 *   writeBytes: async (chunk) => void written.push(...chunk),
 *   closeWrite: async () => void (closed = true),
 *   close() {},
 * });
 * sink.write(new Uint8Array([5, 0]));
 * await sink.write(new Uint8Array([1]));
 * await sink.close();
 * assert.deepEqual(written, [5, 0, 1]);
 * assert.equal(closed, true);
 * ```
 */
export class SocketSink implements ByteSink {
  readonly #socket: SocketWrites;
  /** The last write (or close) made; undefined while none is under way. */
  #tail: Promise<void> | undefined;
  #pending = 0;
  /** The first write's failure: every later write fails with it, as an errored stream's would. */
  #failure: unknown;

  /** Writes to `socket`. */
  constructor(socket: SocketWrites) {
    this.#socket = socket;
  }

  /** True while a write or the close is under way. */
  get busy(): boolean {
    return this.#pending > 0;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.#then(() => this.#socket.writeBytes(chunk));
  }

  close(): Promise<void> {
    return this.#then(() => this.#socket.closeWrite());
  }

  abort(): Promise<void> {
    this.#socket.close();
    return Promise.resolve();
  }

  releaseLock(): void {}

  #then(step: () => Promise<void>): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    this.#pending++;
    const started = this.#tail === undefined ? step() : this.#tail.then(step);
    const done = started.then(() => {
      if (--this.#pending === 0) this.#tail = undefined;
    }, (error: unknown) => {
      this.#pending--;
      this.#failure ??= error;
      throw error;
    });
    this.#tail = done;
    return done;
  }
}
