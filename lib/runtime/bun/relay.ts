/**
 * The Bun adapter's native relay: each socket's `data` handler writes straight to the other socket, with no stream
 * in between (the cheapest relay measured in Bun). A write the kernel takes only part of keeps the rest and pauses
 * the reading socket until the writing one drains; a FIN is passed on with `shutdown()` once everything before it
 * went out; a reset on either side becomes `terminate()` (a reset) on the other. Same contract as lib/relay.ts.
 *
 * @module
 */
import { startIdleTimer } from "../../time/idle_timer.ts";
import type { NativeRelayOptions, NativeSocket } from "../../net/native_relay.ts";
import type { RelayResult } from "../../relay.ts";
import { quotaReached, RelayStop } from "../../net/relay_result.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { concatBytes } from "../../io/concat_bytes.ts";
import type { BunSocket } from "./socket.ts";

/** What a socket's handlers forward to once a native relay owns it. */
export interface BunRelayHandler {
  onData(data: Uint8Array): void;
  onEnd(): void;
  onDrain(): void;
  onClose(error?: Error): void;
}

/** What the adapter lets the native relay do with one socket's state. */
export interface BunSocketHooks {
  /** The socket. */
  socket(): BunSocket<unknown>;
  /** True while the stream holds bytes, waits on a read or has ended, or the socket is closed. */
  busy(): boolean;
  /**
   * From now on the socket's handlers call `handler` instead of feeding the stream. Returns what came while nobody
   * read it (after the handshake's leftover, before anything the handler gets), for the relay to send first.
   */
  takeOver(handler: BunRelayHandler): Uint8Array[] | undefined;
  /** Closes the socket (FIN) and its state. */
  close(): void;
  /** Closes the socket with a reset (RST) and its state. */
  reset(): void;
}

/**
 * A Bun socket the Bun adapter can relay natively with another of its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BunNativeSocket } from "./relay.ts";
 * const native = new BunNativeSocket({
 *   socket: () => assert.fail(),
 *   busy: () => true,
 *   takeOver: () => undefined,
 *   close() {},
 *   reset() {},
 * });
 * const options = { leftover: undefined, otherLeftover: undefined, idleTimeoutMs: 0, signal: undefined };
 * // A busy stream (or a socket of another adapter) is left to the streams relay.
 * assert.equal(native.relayWith(native, options), undefined);
 * ```
 */
export class BunNativeSocket implements NativeSocket {
  readonly #hooks: BunSocketHooks;

  /** Wraps one socket's state. */
  constructor(hooks: BunSocketHooks) {
    this.#hooks = hooks;
  }

  /** Relays natively when `other` is a Bun socket too and neither stream is in the way. */
  relayWith(other: NativeSocket, options: NativeRelayOptions): Promise<RelayResult> | undefined {
    if (!(other instanceof BunNativeSocket) || other === this) return undefined;
    if (this.#hooks.busy() || other.#hooks.busy()) return undefined;
    return relayHandlers(this.#hooks, other.#hooks, options);
  }
}

/** One side of the relay: its socket, and the direction that writes into it. */
interface Side {
  readonly socket: BunSocket<unknown>;
  readonly hooks: BunSocketHooks;
  /** Bytes the kernel did not take yet, waiting for `drain`. */
  pending: Uint8Array | undefined;
  /** The peer's FIN (or a clean close) arrived: no more bytes from this socket. */
  readEnded: boolean;
  /** Our FIN went out to this socket. */
  finSent: boolean;
  /** Bytes written to this socket. */
  written: number;
  /** The socket is gone. */
  closed: boolean;
}

function relayHandlers(aHooks: BunSocketHooks, bHooks: BunSocketHooks, options: NativeRelayOptions) {
  return new Promise<RelayResult>((resolve) => {
    const side = (hooks: BunSocketHooks): Side => ({
      socket: hooks.socket(),
      hooks,
      pending: undefined,
      readEnded: false,
      finSent: false,
      written: 0,
      closed: false,
    });
    const a = side(aHooks);
    const b = side(bHooks);
    const stopped = new RelayStop();
    let settled = false;
    const idle = startIdleTimer(options.idleTimeoutMs, () => stop("idle-timeout"));
    const { signal } = options;

    const settle = () => {
      if (settled) return;
      settled = true;
      idle.stop();
      signal?.removeEventListener("abort", onAbort);
      resolve(stopped.result(b.written, a.written));
    };
    const stop = (reason: RelayResult["outcome"], error?: unknown) => {
      if (settled || !stopped.record(reason, error)) return;
      const reset = stopped.reset;
      for (const s of [a, b]) {
        if (s.closed) continue;
        s.closed = true;
        if (reset) s.hooks.reset();
        else s.hooks.close();
      }
      settle();
    };
    const onAbort = () => stop("aborted");

    /** Writes to `to` what it can; keeps the rest and pauses `from` until `to` drains. */
    const send = (from: Side, to: Side, data: Uint8Array) => {
      const n = to.socket.write(data, 0, data.byteLength);
      if (n < 0) return stop("error", new SocksError("closed", "relay: write: connection closed"));
      to.written += n;
      if (n < data.byteLength) {
        to.pending = data.slice(n);
        from.socket.pause();
      }
    };
    /** Passes `from`'s FIN on to `to` once nothing waits to be written there; the relay ends after both. */
    const passFin = (from: Side, to: Side) => {
      if (!from.readEnded || to.pending !== undefined || to.finSent || stopped.stopped) return;
      to.finSent = true;
      if (a.finSent && b.finSent) {
        // The last FIN: closing sends it (both ends have read everything), one shutdown() fewer per tunnel.
        for (const s of [a, b]) {
          if (!s.closed) s.hooks.close();
          s.closed = true;
        }
        return settle();
      }
      if (!to.closed) to.socket.shutdown();
    };
    const { meter } = options;
    const handler = (me: Side, other: Side): BunRelayHandler => ({
      onData(data) {
        if (stopped.stopped) return;
        idle.touch();
        if (meter !== undefined) {
          const aToB = me === a;
          const allowed = meter.allow(aToB, data.byteLength);
          if (allowed < data.byteLength) {
            // The crossing: what the quota still allows is written if the socket takes it now, then both close.
            if (allowed > 0 && other.pending === undefined) send(me, other, data.subarray(0, allowed));
            meter.passed(aToB, allowed);
            return stop("quota-reached", quotaReached(meter));
          }
          const waitMs = meter.passed(aToB, data.byteLength);
          if (waitMs > 0) {
            // The rate: no more reading from this side until the wait is over (a drain may resume it sooner; the
            // next chunk's wait then includes the debt, so the rate holds over time).
            me.socket.pause();
            setTimeout(() => {
              if (!stopped.stopped && !me.readEnded && other.pending === undefined) me.socket.resume();
            }, waitMs);
          }
        }
        if (other.pending !== undefined) {
          // Bun delivered one more chunk before the pause took effect: queue it behind the rest.
          other.pending = concatBytes([other.pending, data]);
          return;
        }
        send(me, other, data);
      },
      onEnd() {
        me.readEnded = true;
        passFin(me, other);
      },
      onDrain() {
        const rest = me.pending;
        if (rest === undefined || stopped.stopped) return;
        me.pending = undefined;
        idle.touch();
        send(other, me, rest);
        if (me.pending === undefined) {
          if (!other.readEnded) other.socket.resume();
          passFin(other, me);
        }
      },
      onClose(error) {
        if (me.closed) return;
        me.closed = true;
        if (error !== undefined) return stop("error", error);
        // Bun reports the peer's FIN after our own as a plain close: that ends the read side too.
        me.readEnded = true;
        if (!me.finSent || me.pending !== undefined) {
          return stop("error", new SocksError("closed", "relay: connection closed"));
        }
        passFin(me, other);
      },
    });

    const leftover = withQueued(options.leftover, aHooks.takeOver(handler(a, b)));
    const otherLeftover = withQueued(options.otherLeftover, bHooks.takeOver(handler(b, a)));
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) return onAbort();
    meter?.passed(true, leftover?.byteLength ?? 0);
    meter?.passed(false, otherLeftover?.byteLength ?? 0);
    if (leftover && leftover.byteLength > 0) send(a, b, leftover);
    if (otherLeftover && otherLeftover.byteLength > 0) send(b, a, otherLeftover);
    if (b.pending === undefined) a.socket.resume();
    if (a.pending === undefined) b.socket.resume();
  });
}

/** The handshake's leftover followed by what the socket queued after it, as one array (most often neither). */
function withQueued(leftover: Uint8Array | undefined, queued: Uint8Array[] | undefined): Uint8Array | undefined {
  if (queued === undefined) return leftover;
  return concatBytes(leftover === undefined ? queued : [leftover, ...queued]);
}
