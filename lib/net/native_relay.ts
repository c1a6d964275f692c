/**
 * The native relay fast path: when both ends of a relay are sockets of the same runtime adapter, the adapter may
 * move the bytes itself (Node `pipe()`, Bun handler-to-handler writes, Deno a read/write loop) instead of through
 * the WHATWG streams, with the same contract as {@link relay}: half-close both ways, backpressure, byte counts, idle
 * timeout, abort, and a reset passed on as a reset. The handshakes stay on the streams; only the relay goes native.
 *
 * @module
 */
import type { RelayMeter, RelayResult } from "./relay_result.ts";

/** What a native relay is told: the bytes each end already delivered (leftover), the idle timeout, the abort. */
export interface NativeRelayOptions {
  /** Bytes read from this end before the relay (sent to the other end first). */
  readonly leftover: Uint8Array | undefined;
  /** Bytes read from the other end before the relay (sent to this end first). */
  readonly otherLeftover: Uint8Array | undefined;
  /** Close both after this long with no byte either way; 0: never. */
  readonly idleTimeoutMs: number;
  /** Aborting closes both ends. */
  readonly signal: AbortSignal | undefined;
  /** Bandwidth and quota: each chunk allowed, counted and paced (see {@link RelayMeter}); absent: none. */
  readonly meter?: RelayMeter;
}

/**
 * A socket its adapter can relay natively. Opaque to the core: only the adapter that made it knows what it holds.
 */
export interface NativeSocket {
  /**
   * Relays this socket and `other` natively and resolves as {@link relay} would (this end is `a`), or returns
   * undefined when it cannot: `other` belongs to another adapter, or a stream still holds bytes or a pending read.
   * Once it returns a promise, the streams of both connections are never read or written again.
   */
  relayWith(other: NativeSocket, options: NativeRelayOptions): Promise<RelayResult> | undefined;
}
