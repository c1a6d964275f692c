/**
 * An idle timeout that costs one timer per period, not one per byte: activity only stamps the time, and the timer,
 * when it fires, either reports idleness or sleeps for what is left of the period.
 *
 * @module
 */
import { MAX_TIMER_MS } from "./timer_slots.ts";

/** A running idle timeout. */
export interface IdleTimer {
  /** Notes activity now. */
  touch(): void;
  /** Stops the timer; `onIdle` will not be called. */
  stop(): void;
}

/** The timer of a relay with no idle timeout: one object for all of them. */
const NEVER_IDLE: IdleTimer = { touch() {}, stop() {} };

/**
 * Calls `onIdle` once, after `timeoutMs` without a {@link IdleTimer.touch}; 0 or less means never.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startIdleTimer } from "./idle_timer.ts";
 * let idle = false;
 * const timer = startIdleTimer(10, () => (idle = true));
 * timer.touch();
 * await new Promise((resolve) => setTimeout(resolve, 50));
 * assert.equal(idle, true);
 * timer.stop();
 * ```
 */
export function startIdleTimer(timeoutMs: number, onIdle: () => void): IdleTimer {
  // No timeout (the default): nothing to note, not even the time of every chunk a relay moves.
  if (timeoutMs <= 0) return NEVER_IDLE;
  let last = Date.now();
  // setTimeout fires at once past 2^31-1 ms; a longer period is slept in pieces.
  const sleep = (ms: number) => (timer = setTimeout(check, Math.min(ms, MAX_TIMER_MS)));
  let timer: ReturnType<typeof setTimeout> | undefined;
  function check() {
    const quiet = Date.now() - last;
    if (quiet >= timeoutMs) {
      timer = undefined;
      onIdle();
    } else sleep(timeoutMs - quiet);
  }
  if (timeoutMs > 0) sleep(timeoutMs);
  return {
    touch: () => void (last = Date.now()),
    stop: () => clearTimeout(timer),
  };
}
