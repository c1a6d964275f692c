/**
 * A node:stream Duplex over a pair of WHATWG byte streams: what node:tls needs to run TLS (client or server) over a
 * tunnel or an accepted connection that is not a socket of its own. node:stream comes from getBuiltinModule when one
 * is made, never a static import (a bundler would hoist it into a Cloudflare Worker, which cannot load it).
 *
 * @module
 */
import type { Duplex } from "node:stream";
import { builtinModule } from "./builtin_module.ts";

/** What else a Duplex over streams does. */
export interface StreamsDuplexHooks {
  /** Bytes already read from `readable` (by the dispatcher): they come first. */
  readonly leftover?: Uint8Array;
  /** The leftover bytes are pushed once this settles (a TLS server that starts its handshake a tick later). */
  readonly started?: Promise<unknown>;
  /** Called when `readable` ends (the peer's FIN). */
  readonly ended?: () => void;
  /** Called when the Duplex is destroyed, after both streams were let go. */
  readonly destroyed?: () => void;
}

/**
 * A Duplex that reads `readable` and writes `writable`; its end closes `writable` (a FIN), destroying it cancels both.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { streamsDuplex } from "./streams_duplex.ts";
 * const duplex = streamsDuplex(ReadableStream.from([new Uint8Array([2])]), new WritableStream(), {
 *   leftover: new Uint8Array([1]),
 * });
 * const read: number[] = [];
 * for await (const chunk of duplex) read.push(...chunk);
 * // The bytes read before come first, then the stream's.
 * assert.deepEqual(read, [1, 2]);
 * ```
 */
export function streamsDuplex(
  readable: ReadableStream<Uint8Array>,
  writable: WritableStream<Uint8Array>,
  hooks: StreamsDuplexHooks = {},
): Duplex {
  const reader = readable.getReader();
  const writer = writable.getWriter();
  let leftover = hooks.leftover !== undefined && hooks.leftover.byteLength > 0 ? hooks.leftover : undefined;
  const { Duplex } = builtinModule<typeof import("node:stream")>("node:stream");
  return new Duplex({
    read() {
      if (leftover) {
        const first = leftover;
        leftover = undefined;
        if (hooks.started) void hooks.started.then(() => this.push(first));
        else this.push(first);
        return;
      }
      reader.read().then(({ done, value }) => {
        if (done) hooks.ended?.();
        this.push(done ? null : value);
      }, (error) => this.destroy(error));
    },
    write(chunk: Uint8Array, _encoding, callback) {
      writer.write(chunk).then(() => callback(), callback);
    },
    final(callback) {
      writer.close().then(() => callback(), callback);
    },
    destroy(error, callback) {
      reader.cancel(error ?? undefined).catch(() => {});
      writer.abort(error ?? undefined).catch(() => {});
      hooks.destroyed?.();
      hooks.ended?.();
      callback(error);
    },
  });
}
