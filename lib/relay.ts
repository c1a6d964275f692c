/**
 * The bidirectional pump between a client and its destination: each direction copies until its source ends, then
 * half-closes its sink (a FIN in one direction keeps the other open); an error in either direction closes both, and
 * a reset on either side is passed on as a reset to the other, so that a cut transfer never looks complete.
 * Backpressure is a fixed window: one read buffer per direction, and no read until the previous write finished.
 *
 * @module
 */
import type { ByteSink } from "./io/byte_sink.ts";
import { startIdleTimer } from "./time/idle_timer.ts";
import { openReader } from "./io/open_reader.ts";
import type { NativeSocket } from "./net/native_relay.ts";
import { quotaReached, type RelayMeter, type RelayResult, RelayStop } from "./net/relay_result.ts";
// RelayResult lives in its own file so that native_relay.ts can name it without importing the relay back.
export type { RelayResult } from "./net/relay_result.ts";

/** One end of a relay: a byte-stream pair, with bytes already read from it, and a way to close it at once. */
export interface RelayEnd {
  /** Bytes from this end, pumped to the other end's writable. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to this end; closed (half-close) when the other end's readable ends. */
  readonly writable: WritableStream<Uint8Array>;
  /** Bytes read from `readable` before the relay started (e.g. data the client sent behind its request). */
  readonly leftover?: Uint8Array;
  /** A reader already holding `readable`'s lock (e.g. from a handshake), used instead of taking a new one. */
  readonly reader?: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>;
  /** A writer already holding `writable`'s lock, used instead of taking a new one. */
  readonly writer?: ByteSink;
  /** Closes this end at once (on an error, an abort or the idle timeout). */
  close(): void;
  /** Closes at once with a reset (RST) where the runtime can; without it, a reset is passed on as `close()`. */
  reset?(): void;
  /** The socket under these streams, when its adapter can relay it natively (see native_relay.ts). */
  readonly native?: NativeSocket;
}

/** The default largest read buffer of a direction. */
export const DEFAULT_MAX_CHUNK_SIZE: number = 128 * 1024;

/** Options of {@link relay}. */
export interface RelayOptions {
  /** Close both ends after this long with no byte in either direction; 0 or absent: never. */
  readonly idleTimeoutMs?: number;
  /** The first read buffer of a direction; it grows while reads fill it. Default 2 KiB: small, because an idle tunnel holds it. */
  readonly initialChunkSize?: number;
  /**
   * The largest read buffer of a direction: the per-direction window, and most of what a tunnel whose far end stops
   * reading holds (see docs/serve.md, "Limits and safety"). Default 128 KiB.
   */
  readonly maxChunkSize?: number;
  /** Aborting closes both ends (a server shutting down). */
  readonly signal?: AbortSignal;
  /**
   * False: always relay through the streams, even when both ends are sockets their adapter could relay natively
   * (see native_relay.ts). Default true. The native path ignores the chunk sizes: the runtime picks its own.
   */
  readonly native?: boolean;
  /**
   * Bandwidth and quota (a limited user's or client's tunnel): every chunk is allowed, counted and paced through
   * it, on the streams path and on every runtime's native path alike.
   */
  readonly meter?: RelayMeter;
}

export type { RelayMeter } from "./net/relay_result.ts";

/**
 * Relays between `a` and `b` until both directions end, then closes both. Resolves, never rejects. The streams stay
 * locked to the relay's readers and writers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { relay } from "./relay.ts";
 * const sink: Uint8Array[] = [];
 * const a = { readable: ReadableStream.from([new Uint8Array([1, 2])]), writable: new WritableStream(), close() {} };
 * const b = {
 *   readable: ReadableStream.from<Uint8Array>([]),
 *   writable: new WritableStream<Uint8Array>({ write: (c) => void sink.push(c.slice()) }),
 *   close() {},
 * };
 * const result = await relay(a, b);
 * assert.equal(result.aToB, 2);
 * assert.deepEqual(sink.flatMap((c) => [...c]), [1, 2]);
 * ```
 */
export function relay(a: RelayEnd, b: RelayEnd, options: RelayOptions = {}): Promise<RelayResult> {
  if (options.native !== false && a.native && b.native) {
    const native = a.native.relayWith(b.native, {
      leftover: a.leftover,
      otherLeftover: b.leftover,
      idleTimeoutMs: options.idleTimeoutMs ?? 0,
      signal: options.signal,
      meter: options.meter,
    });
    if (native) return native;
  }
  return streamsRelay(a, b, options);
}

async function streamsRelay(a: RelayEnd, b: RelayEnd, options: RelayOptions): Promise<RelayResult> {
  const initial = options.initialChunkSize ?? 2 * 1024;
  const max = options.maxChunkSize ?? DEFAULT_MAX_CHUNK_SIZE;
  const stopped = new RelayStop();
  const stop = (reason: RelayResult["outcome"], error?: unknown) => {
    if (!stopped.record(reason, error)) return;
    if (stopped.reset) {
      // One side reset: the other learns it the same way (the side that reset is gone; resetting it is harmless).
      (a.reset ?? a.close).call(a);
      (b.reset ?? b.close).call(b);
    } else {
      a.close();
      b.close();
    }
  };
  const counts = { aToB: 0, bToA: 0 };
  const idle = startIdleTimer(options.idleTimeoutMs ?? 0, () => stop("idle-timeout"));
  const onAbort = () => stop("aborted");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  const meter = options.meter;
  const pump = async (from: RelayEnd, to: RelayEnd, count: (n: number) => void, aToB: boolean) => {
    const writer = to.writer ?? to.writable.getWriter();
    const reader = from.reader ?? openReader(from.readable);
    const byob = reader instanceof ReadableStreamBYOBReader ? reader : undefined;
    try {
      if (from.leftover && from.leftover.length > 0) {
        await writer.write(from.leftover);
        count(from.leftover.length);
        idle.touch();
      }
      let buffer: Uint8Array<ArrayBuffer> = new Uint8Array(initial);
      for (;;) {
        let chunk: Uint8Array;
        if (byob) {
          const result = await byob.read(buffer);
          if (result.done) break;
          chunk = result.value;
        } else {
          const result = await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
          if (result.done) break;
          chunk = result.value;
        }
        if (meter !== undefined) {
          const allowed = meter.allow(aToB, chunk.length);
          if (allowed < chunk.length) {
            // The crossing: what the quota still allows goes out, then the tunnel closes (no overshoot here).
            if (allowed > 0) {
              await writer.write(chunk.subarray(0, allowed));
              count(allowed);
              meter.passed(aToB, allowed);
            }
            // Its own outcome, apart from a refusal's "quota-exceeded": this tunnel was served, then cut.
            stop("quota-reached", quotaReached(meter));
            break;
          }
        }
        await writer.write(chunk);
        count(chunk.length);
        idle.touch();
        if (meter !== undefined) {
          const waitMs = meter.passed(aToB, chunk.length);
          if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
        }
        if (byob) {
          // The read transferred the buffer; reuse it, larger if this read filled it (a bulk transfer).
          const returned = chunk.buffer as ArrayBuffer;
          buffer = chunk.length === returned.byteLength && returned.byteLength < max
            ? new Uint8Array(Math.min(max, returned.byteLength * 4))
            : new Uint8Array(returned);
        }
      }
      await writer.close();
    } catch (error) {
      stop("error", error);
    }
    // The locks are kept: both ends are closed at the end anyway, and releasing a lock costs a new error object
    // per reader and writer (their `closed` promises are rejected), a tenth of a short tunnel's CPU time.
  };

  await Promise.all([
    pump(a, b, (n) => (counts.aToB += n), true),
    pump(b, a, (n) => (counts.bToA += n), false),
  ]);
  idle.stop();
  options.signal?.removeEventListener("abort", onAbort);
  // A stop closed both ends already; a clean end closes them here.
  if (!stopped.stopped) {
    a.close();
    b.close();
  }
  return stopped.result(counts.aToB, counts.bToA);
}
