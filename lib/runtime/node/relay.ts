/**
 * The Node adapter's native relay: `socket.pipe()` both ways between two `node:net` sockets, the way npm socksv5 and
 * most Node proxies relay, which skips the WHATWG streams Node implements in JavaScript. `pipe()` gives
 * backpressure and, since both sockets allow half-open, passes each FIN on as `end()`. The relay contract of
 * lib/relay.ts is kept: byte counts come from the sockets' own counters, the idle timeout is the first socket's
 * `setTimeout` (every byte either way is read from or written to it), and a reset on either side becomes a reset
 * (`resetAndDestroy()`) on the other.
 *
 * @module
 */
import type net from "node:net";
import type { NativeRelayOptions, NativeSocket } from "../../net/native_relay.ts";
import type { RelayResult } from "../../relay.ts";
import { quotaReached, type RelayMeter, RelayStop } from "../../net/relay_result.ts";
import { SocksError } from "../../wire/socks_error.ts";

/** What the adapter tells the native relay about the stream it built over a socket. */
export interface NodeStreamHooks {
  /** True while the stream holds bytes, waits on a read or has ended: then only the streams relay can go on. */
  busy(): boolean;
  /** Stops feeding the stream: from now on the relay reads the socket itself. */
  detach(): void;
}

/**
 * A `node:net` socket the Node adapter can relay natively with another of its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import net from "node:net";
 * import { NodeNativeSocket } from "./relay.ts";
 * const socket = new net.Socket();
 * const native = new NodeNativeSocket(socket, { busy: () => false, detach() {} });
 * // Not one of this adapter's sockets: no native relay, the caller uses the streams.
 * const foreign = { relayWith: () => undefined };
 * const options = { leftover: undefined, otherLeftover: undefined, idleTimeoutMs: 0, signal: undefined };
 * assert.equal(native.relayWith(foreign, options), undefined);
 * socket.destroy();
 * ```
 */
export class NodeNativeSocket implements NativeSocket {
  /** The socket, created with `allowHalfOpen: true`. */
  readonly socket: net.Socket;
  readonly #stream: NodeStreamHooks;

  /** Wraps `socket`, whose stream `stream` describes. */
  constructor(socket: net.Socket, stream: NodeStreamHooks) {
    this.socket = socket;
    this.#stream = stream;
  }

  /** Relays natively when `other` is a Node socket too and neither stream is in the way. */
  relayWith(other: NativeSocket, options: NativeRelayOptions): Promise<RelayResult> | undefined {
    if (!(other instanceof NodeNativeSocket) || other === this) return undefined;
    if (this.#stream.busy() || other.#stream.busy()) return undefined;
    this.#stream.detach();
    other.#stream.detach();
    return pipeBothWays(this.socket, other.socket, options);
  }
}

function pipeBothWays(a: net.Socket, b: net.Socket, options: NativeRelayOptions): Promise<RelayResult> {
  return new Promise((resolve) => {
    // bytesWritten counts what was handed to each socket: what the other side relayed to it, leftover included.
    const sentToA = a.bytesWritten;
    const sentToB = b.bytesWritten;
    const { signal, idleTimeoutMs } = options;
    const stopped = new RelayStop();
    let settled = false;
    // A socket is done when its read side ended (the peer's FIN, passed on by pipe) and its FIN went out.
    const state = new Map<net.Socket, { ended: boolean; finished: boolean }>([
      [a, { ended: false, finished: false }],
      [b, { ended: false, finished: false }],
    ]);

    const settle = () => {
      if (settled) return;
      settled = true;
      a.setTimeout(0);
      signal?.removeEventListener("abort", onAbort);
      // A clean end closes both here (they are closing already: both FINs went both ways).
      if (!stopped.stopped) {
        a.destroy();
        b.destroy();
      }
      resolve(stopped.result(b.bytesWritten - sentToB, a.bytesWritten - sentToA));
    };
    const stop = (reason: RelayResult["outcome"], error?: unknown) => {
      if (settled || !stopped.record(reason, error)) return;
      // One side reset: the other learns it the same way.
      const how = stopped.reset ? (s: net.Socket) => s.resetAndDestroy() : (s: net.Socket) => s.destroy();
      if (!a.destroyed) how(a);
      if (!b.destroyed) how(b);
      settle();
    };
    const onAbort = () => stop("aborted");

    for (const socket of [a, b]) {
      const mine = state.get(socket)!;
      socket.on("end", () => (mine.ended = true));
      socket.on("finish", () => {
        mine.finished = true;
        if ([...state.values()].every((s) => s.finished)) settle();
      });
      socket.on("error", (error) => stop("error", error));
      socket.on("close", () => {
        if (!(mine.ended && mine.finished)) stop("error", new SocksError("closed", "relay: connection closed"));
      });
    }
    if (idleTimeoutMs > 0) {
      a.setTimeout(idleTimeoutMs);
      a.on("timeout", () => stop("idle-timeout"));
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) return onAbort();

    if (options.leftover && options.leftover.length > 0) b.write(options.leftover);
    if (options.otherLeftover && options.otherLeftover.length > 0) a.write(options.otherLeftover);
    const { meter } = options;
    if (meter === undefined) {
      a.pipe(b);
      b.pipe(a);
      return;
    }
    meter.passed(true, options.leftover?.length ?? 0);
    meter.passed(false, options.otherLeftover?.length ?? 0);
    meteredPipe(a, b, meter, true, () => stop("quota-reached", quotaReached(meter)));
    meteredPipe(b, a, meter, false, () => stop("quota-reached", quotaReached(meter)));
  });
}

/**
 * `from.pipe(to)` with a meter: each chunk is allowed by the quota (cut at the crossing, then `crossed`), counted,
 * and `from` paused while `to` is full (as pipe does) and while the rate's wait lasts.
 */
function meteredPipe(from: net.Socket, to: net.Socket, meter: RelayMeter, aToB: boolean, crossed: () => void): void {
  let holds = 0;
  const release = () => {
    if (--holds === 0 && !from.destroyed) from.resume();
  };
  from.on("data", (chunk: Uint8Array) => {
    const allowed = meter.allow(aToB, chunk.length);
    if (allowed < chunk.length) {
      if (allowed > 0) to.write(chunk.subarray(0, allowed));
      meter.passed(aToB, allowed);
      return crossed();
    }
    const flushed = to.write(chunk);
    const waitMs = meter.passed(aToB, chunk.length);
    if (flushed && waitMs <= 0) return;
    from.pause();
    if (!flushed) {
      holds++;
      to.once("drain", release);
    }
    if (waitMs > 0) {
      holds++;
      setTimeout(release, waitMs);
    }
  });
  // As pipe does: the peer's FIN is passed on once everything before it was handed to `to`.
  from.on("end", () => to.end());
  // The adapter may have paused it (pipe() resumes too).
  from.resume();
}
