/**
 * The Node adapter's native relay: what `socket.pipe()` does, both ways between two `node:net` sockets (the way npm
 * socksv5 and most Node proxies relay), which skips the WHATWG streams Node implements in JavaScript: backpressure
 * and, since both sockets allow half-open, each FIN passed on as `end()`. The relay contract of
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
  return new Promise((resolve) => new NodeRelay(a, b, options, resolve).start(options));
}

/** Where a relayed socket keeps its relay, for the listeners every relay shares. */
const RELAY = Symbol("tabi relay");
type Relayed = net.Socket & { [RELAY]?: NodeRelay };

/**
 * One native relay between two sockets. Its listeners are shared by every relay and find it on the socket they are
 * called on (an EventEmitter calls a listener with the emitter as `this`), so an idle tunnel holds this object and no
 * closure: pipe() would add nine closures and a state per direction, and per-relay listeners a dozen more.
 */
class NodeRelay {
  readonly a: Relayed;
  readonly b: Relayed;
  readonly #stopped = new RelayStop();
  readonly #signal: AbortSignal | undefined;
  readonly #resolve: (result: RelayResult) => void;
  // bytesWritten counts what was handed to each socket: what the other side relayed to it, leftover included.
  readonly #sentToA: number;
  readonly #sentToB: number;
  // A socket is done when its read side ended (the peer's FIN, passed on) and its own FIN went out.
  #aEnded = false;
  #aFinished = false;
  #bEnded = false;
  #bFinished = false;
  #settled = false;

  constructor(a: net.Socket, b: net.Socket, options: NativeRelayOptions, resolve: (result: RelayResult) => void) {
    this.a = a;
    this.b = b;
    this.#signal = options.signal;
    this.#resolve = resolve;
    this.#sentToA = a.bytesWritten;
    this.#sentToB = b.bytesWritten;
  }

  start(options: NativeRelayOptions): void {
    const { a, b } = this;
    const { signal, idleTimeoutMs, meter } = options;
    for (const socket of [a, b]) {
      socket[RELAY] = this;
      socket.on("end", onEnd);
      socket.on("finish", onFinish);
      socket.on("error", onError);
      socket.on("close", onClose);
    }
    if (idleTimeoutMs > 0) {
      a.setTimeout(idleTimeoutMs);
      a.on("timeout", onTimeout);
    }
    signal?.addEventListener("abort", this, { once: true });
    if (signal?.aborted) return this.stop("aborted");

    if (options.leftover && options.leftover.length > 0) b.write(options.leftover);
    if (options.otherLeftover && options.otherLeftover.length > 0) a.write(options.otherLeftover);
    if (meter === undefined) {
      for (const socket of [a, b]) {
        socket.on("data", onData);
        // Kept for the relay's life, as pipe() keeps its own: a listener added per full write (once()) would be an
        // allocation per backpressure event of a bulk transfer. (A metered relay paces with its own.)
        socket.on("drain", onDrain);
        // The adapter may have paused it.
        socket.resume();
      }
      return;
    }
    meter.passed(true, options.leftover?.length ?? 0);
    meter.passed(false, options.otherLeftover?.length ?? 0);
    meteredForward(a, b, meter, true, () => this.stop("quota-reached", quotaReached(meter)));
    meteredForward(b, a, meter, false, () => this.stop("quota-reached", quotaReached(meter)));
  }

  /** The other end of `socket`. */
  other(socket: net.Socket): net.Socket {
    return socket === this.a ? this.b : this.a;
  }

  /** The server stops (the signal's abort event). */
  handleEvent(): void {
    this.stop("aborted");
  }

  ended(socket: net.Socket): void {
    if (socket === this.a) this.#aEnded = true;
    else this.#bEnded = true;
  }

  finished(socket: net.Socket): void {
    if (socket === this.a) this.#aFinished = true;
    else this.#bFinished = true;
    if (this.#aFinished && this.#bFinished) this.#settle();
  }

  closed(socket: net.Socket): void {
    const done = socket === this.a ? this.#aEnded && this.#aFinished : this.#bEnded && this.#bFinished;
    if (!done) this.stop("error", new SocksError("closed", "relay: connection closed"));
  }

  stop(reason: RelayResult["outcome"], error?: unknown): void {
    if (this.#settled || !this.#stopped.record(reason, error)) return;
    const { a, b } = this;
    // One side reset: the other learns it the same way.
    if (this.#stopped.reset) {
      if (!a.destroyed) a.resetAndDestroy();
      if (!b.destroyed) b.resetAndDestroy();
    } else {
      a.destroy();
      b.destroy();
    }
    this.#settle();
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    const { a, b } = this;
    a.setTimeout(0);
    this.#signal?.removeEventListener("abort", this);
    // A clean end closes both here (they are closing already: both FINs went both ways).
    if (!this.#stopped.stopped) {
      a.destroy();
      b.destroy();
    }
    this.#resolve(this.#stopped.result(b.bytesWritten - this.#sentToB, a.bytesWritten - this.#sentToA));
  }
}

// The listeners every relay shares; `this` is the socket the event is for.
function onData(this: Relayed, chunk: Uint8Array): void {
  // Full: this side waits until the other drains (onDrain).
  if (!this[RELAY]!.other(this).write(chunk)) this.pause();
}
function onDrain(this: Relayed): void {
  const from = this[RELAY]!.other(this);
  if (from.isPaused() && !from.destroyed) from.resume();
}
function onEnd(this: Relayed): void {
  const relay = this[RELAY]!;
  relay.ended(this);
  // The peer's FIN, passed on once everything before it was handed to the other socket (as pipe() does).
  relay.other(this).end();
}
function onFinish(this: Relayed): void {
  this[RELAY]!.finished(this);
}
function onError(this: Relayed, error: Error): void {
  this[RELAY]!.stop("error", error);
}
function onClose(this: Relayed): void {
  this[RELAY]!.closed(this);
}
function onTimeout(this: Relayed): void {
  this[RELAY]!.stop("idle-timeout");
}

/**
 * The relay's data listener with a meter (a limited user's tunnel): each chunk is allowed by the quota (cut at the
 * crossing, then `crossed`), counted, and `from` paused while `to` is full and while the rate's wait lasts.
 */
function meteredForward(
  from: net.Socket,
  to: net.Socket,
  meter: RelayMeter,
  aToB: boolean,
  crossed: () => void,
): void {
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
  // The peer's FIN is passed on by the relay's shared end listener. The adapter may have paused `from`.
  from.resume();
}
