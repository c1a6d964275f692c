/**
 * A token bucket shared by every tunnel of one user (or client address), one per direction: each tunnel takes what
 * it moved and waits out the debt before it reads again. Waiting for the whole debt, not only its own share, is what
 * keeps several tunnels of one user fair: whoever took last waits longest, so they take turns (3proxy's limiter let
 * one tunnel starve the others).
 *
 * @module
 */

/** Rate limiting by a token bucket, in bytes. */
export class RateLimiter {
  readonly #bytesPerSecond: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  /**
   * A limiter of `bytesPerSecond`, allowing bursts of `burst` bytes (default a twentieth of a second's worth, at
   * least 16 KiB): small, so that a limit holds from the first second.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RateLimiter } from "./rate_limiter.ts";
   * const limiter = new RateLimiter(1000, 100, 0);
   * assert.equal(limiter.take(100, 0), 0); // the burst
   * assert.equal(limiter.take(500, 0), 500); // 500 bytes of debt at 1000 B/s: wait 500 ms
   * assert.equal(limiter.take(100, 500), 100); // the debt was paid at 500 ms; 100 more: 100 ms
   * ```
   */
  constructor(bytesPerSecond: number, burst?: number, now: number = performance.now()) {
    this.#bytesPerSecond = bytesPerSecond;
    this.#burst = burst ?? Math.max(16 * 1024, bytesPerSecond / 20);
    this.#tokens = this.#burst;
    this.#at = now;
  }

  /** Takes `bytes`; returns how many ms to wait before moving more (0: within the burst). */
  take(bytes: number, now: number = performance.now()): number {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) * this.#bytesPerSecond) / 1000);
    this.#at = now;
    this.#tokens -= bytes;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.#bytesPerSecond;
  }
}
