/**
 * What a relay reports when it ends: the streams relay (relay.ts) and the native ones (native_relay.ts) alike.
 *
 * @module
 */
import { SocksError } from "../wire/socks_error.ts";
import { toSocksError } from "./net_error.ts";

/** How a relay ended and what it moved. */
export interface RelayResult {
  /** Bytes from `a` to `b` (leftover included). */
  readonly aToB: number;
  /** Bytes from `b` to `a` (leftover included). */
  readonly bToA: number;
  /** "done" when both directions ended with a FIN; otherwise why it stopped. */
  readonly outcome: "done" | "idle-timeout" | "aborted" | "error" | "quota-reached";
  /** The first error, when outcome is "error". */
  readonly error?: SocksError;
}

/**
 * The first reason a relay stopped, recorded once, and the result built from it: what the streams relay and the
 * native ones share, so that each only decides how to close its own ends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RelayStop } from "./relay_result.ts";
 * const stop = new RelayStop();
 * assert.equal(stop.record("idle-timeout"), true);
 * assert.equal(stop.record("aborted"), false);
 * assert.deepEqual(stop.result(3, 4), { aToB: 3, bToA: 4, outcome: "idle-timeout" });
 * ```
 */
export class RelayStop {
  #outcome: RelayResult["outcome"] | undefined;
  #error: SocksError | undefined;

  /** True once a stop was recorded. */
  get stopped(): boolean {
    return this.#outcome !== undefined;
  }

  /** True when the recorded stop is a reset: the other end then learns it the same way. */
  get reset(): boolean {
    return this.#error?.code === "reset";
  }

  /** Records the first stop, with its error if any; false (and nothing recorded) when one came before. */
  record(reason: RelayResult["outcome"], error?: unknown): boolean {
    if (this.#outcome !== undefined) return false;
    this.#outcome = reason;
    if (error !== undefined) this.#error = toSocksError(error, "relay");
    return true;
  }

  /** The result: "done" unless a stop was recorded. */
  result(aToB: number, bToA: number): RelayResult {
    return { aToB, bToA, outcome: this.#outcome ?? "done", ...(this.#error ? { error: this.#error } : {}) };
  }
}

/**
 * What a metered relay (a user's or client's bandwidth and quota, lib/server/usage_control.ts) asks before and
 * tells after each chunk, on the streams path and on the native ones alike.
 */
export interface RelayMeter {
  /** How many of `bytes` may still pass (the quota); fewer than `bytes`: the quota ends inside this chunk. */
  allow(aToB: boolean, bytes: number): number;
  /** Counts `bytes` that passed; returns the ms to wait before the direction moves more (the rate). */
  passed(aToB: boolean, bytes: number): number;
  /** Names the quota, for the record of a tunnel closed at its crossing. */
  readonly quotaMessage: string;
}

/** The error a tunnel cut at its quota records (outcome "quota-reached"). */
export function quotaReached(meter: RelayMeter): SocksError {
  return new SocksError("quota-exceeded", meter.quotaMessage);
}
