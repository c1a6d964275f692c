/**
 * A signal that aborts after a time or when any given signal aborts, with its timer held strongly and cleared when
 * done. `AbortSignal.any([AbortSignal.timeout(ms), s])` is not safe: Node 20 holds the timeout signal weakly, so a
 * garbage collection can drop it before it fires and the deadline never comes (nodejs/node#57736).
 *
 * @module
 */
import { afterSlotted, SLOTTED_FROM_MS } from "./timer_slots.ts";

/** A deadline: `signal` aborts with a TimeoutError after the time, or with the reason of a linked signal. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Stops the timer and unlinks the signals; call it when the guarded work is over. */
  clear(): void;
}

/**
 * Starts a deadline of `ms` milliseconds, also aborted by any of `linked`. `ms` 0 means no time limit: only a linked
 * signal ends it (every timeout of tabi's takes 0 as "never").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startDeadline } from "./deadline.ts";
 * const deadline = startDeadline(10);
 * await new Promise((resolve) => deadline.signal.addEventListener("abort", resolve));
 * assert.equal((deadline.signal.reason as DOMException).name, "TimeoutError");
 * deadline.clear();
 * ```
 */
export function startDeadline(ms: number, ...linked: (AbortSignal | undefined)[]): Deadline {
  const controller = new AbortController();
  const sources = linked.filter((s): s is AbortSignal => s !== undefined);
  const timer = ms > 0
    ? setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, "TimeoutError")), ms)
    : undefined;
  const forward = (event: Event) => controller.abort((event.target as AbortSignal).reason);
  const clear = () => {
    clearTimeout(timer);
    for (const source of sources) source.removeEventListener("abort", forward);
  };
  for (const source of sources) {
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    source.addEventListener("abort", forward, { once: true });
  }
  controller.signal.addEventListener("abort", clear, { once: true });
  return { signal: controller.signal, clear };
}

/**
 * Calls `onTimeout` once after `ms` milliseconds, unless cancelled first; `ms` 0 means never (no timer at all).
 * Returns the function that cancels it. Used for the handshake timeout, which closes the connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { afterTimeout } from "./deadline.ts";
 * let fired = false;
 * const cancel = afterTimeout(5, () => (fired = true));
 * await new Promise((resolve) => setTimeout(resolve, 20));
 * assert.equal(fired, true);
 * cancel();
 * afterTimeout(0, () => assert.fail("0 is never"))();
 * ```
 */
export function afterTimeout(ms: number, onTimeout: () => void): () => void {
  if (ms <= 0) return () => {};
  // A server's handshake timeout (30 s by default) is set and cleared once per connection: slotted, it costs no
  // runtime timer of its own.
  if (ms >= SLOTTED_FROM_MS) return afterSlotted(ms, onTimeout);
  const timer = setTimeout(onTimeout, ms);
  return () => clearTimeout(timer);
}
