/**
 * Timers for the long, per-connection timeouts of a server (the handshake's 30 s, a connect's 2 minutes), batched
 * into slots of {@link SLOT_MS}: every timer due in the same slot shares one runtime timer, and one deadline signal
 * per slot serves every connect that links the same signal. A server makes thousands of these a second and almost
 * never lets one fire; a runtime timer and an AbortController each, set and cleared per connection, cost a few
 * percent of a short tunnel's CPU time. A slotted timer fires up to {@link SLOT_MS} late, never early.
 *
 * @module
 */
import { allowManyListeners } from "./listener_limit.ts";

/** The width of a slot: a slotted timer fires at the end of the slot its time falls in. */
export const SLOT_MS = 100;

/** Below this a timer is not slotted: SLOT_MS late would be a large part of it (and tests time short timers). */
export const SLOTTED_FROM_MS = 1000;

/**
 * The longest delay setTimeout takes as it is (about 24.8 days): past it, the runtimes fire at once. A longer wait
 * (a slot further away, an idle timeout) is reached in steps; a longer timeout setting is refused.
 */
export const MAX_TIMER_MS: number = 2 ** 31 - 1;

/** Callbacks by the end of their slot (ms since the epoch); one runtime timer for the earliest. */
const slots = new Map<number, Set<() => void>>();
let timer: ReturnType<typeof setTimeout> | undefined;
let armedFor = Infinity;

function arm(): void {
  let earliest = Infinity;
  for (const end of slots.keys()) if (end < earliest) earliest = end;
  if (earliest === armedFor) return;
  clearTimeout(timer);
  timer = undefined;
  armedFor = earliest;
  if (earliest === Infinity) return;
  timer = setTimeout(fire, Math.min(Math.max(0, earliest - Date.now()), MAX_TIMER_MS));
  // It never holds the process open: each slotted timer guards work (a socket, a connect) that does.
  (timer as { unref?: () => void }).unref?.();
}

function fire(): void {
  timer = undefined;
  armedFor = Infinity;
  const now = Date.now();
  const due: Set<() => void>[] = [];
  for (const [end, callbacks] of slots) {
    if (end > now) continue;
    slots.delete(end);
    due.push(callbacks);
  }
  arm();
  for (const callbacks of due) {
    for (const callback of callbacks) {
      try {
        callback();
      } catch (error) {
        // One timer's failure must not cost the others theirs; it is reported as an uncaught error would be.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

function slotEnd(ms: number): number {
  return Math.ceil((Date.now() + ms) / SLOT_MS) * SLOT_MS;
}

function schedule(end: number, callback: () => void): () => void {
  let callbacks = slots.get(end);
  if (callbacks === undefined) {
    slots.set(end, callbacks = new Set());
    if (end < armedFor) arm();
  }
  // A callback already in the set (the same function twice) would be called once: wrap it to keep both.
  const entry = callbacks.has(callback) ? () => callback() : callback;
  callbacks.add(entry);
  const slot = callbacks;
  return () => {
    if (!slot.delete(entry) || slot.size > 0 || slots.get(end) !== slot) return;
    slots.delete(end);
    // The timer stays armed for an emptied slot while others wait (it fires once, finds nothing, and arms for the
    // next): clearing it would cost a runtime call per connection, which is what the slots save. With no timer
    // left at all, nothing stays behind.
    if (slots.size === 0) arm();
  };
}

/**
 * Calls `callback` once, at least `ms` milliseconds from now and at most {@link SLOT_MS} later, unless the returned
 * function is called first. For timeouts of {@link SLOTTED_FROM_MS} and more; `ms` 0 or less is never. The timer
 * does not keep the process alive: it guards work that does (a socket, a connect).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { afterSlotted } from "./timer_slots.ts";
 * const started = Date.now();
 * // Something else keeps the process alive meanwhile (in a server, the connection the timeout guards).
 * const guarded = setTimeout(() => {}, 5000);
 * await new Promise<void>((resolve) => afterSlotted(1000, resolve));
 * clearTimeout(guarded);
 * assert.ok(Date.now() - started >= 1000);
 * afterSlotted(1000, () => assert.fail("cancelled"))();
 * ```
 */
export function afterSlotted(ms: number, callback: () => void): () => void {
  if (ms <= 0) return () => {};
  return schedule(slotEnd(ms), callback);
}

/** A deadline signal shared by the connects of one slot, with how many still use it. */
interface SharedDeadline {
  readonly controller: AbortController;
  users: number;
  /** Takes the slot's timer back and unlinks the signal (again is harmless). */
  readonly drop: () => void;
}

/** One deadline per slot for each linked signal. */
const deadlines = new WeakMap<AbortSignal, Map<number, SharedDeadline>>();

/** What {@link slottedDeadline} gives each caller: the shared signal, and the call that says it is done with it. */
export interface SlottedDeadline {
  /** Aborts when the time is up or the linked signal aborts; shared, so nobody may abort it. */
  readonly signal: AbortSignal;
  /** Done with it (again is harmless): when every caller of its slot is, its timer and its link go. */
  clear(): void;
}

/**
 * A deadline whose signal aborts with a TimeoutError at least `ms` from now (at most {@link SLOT_MS} later), or
 * with `linked`'s reason when that aborts first. The signal is shared: every call with the same `linked` whose time
 * falls in the same slot gets the same one, and one slotted timer ends it. For the connects of a server, all linked
 * to the server's stop signal, under a long connect timeout that rarely fires.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slottedDeadline } from "./timer_slots.ts";
 * const stop = new AbortController();
 * const one = slottedDeadline(60_000, stop.signal);
 * const two = slottedDeadline(60_000, stop.signal);
 * // Made in the same slot (almost always), the two share one signal and one timer; either way both end.
 * stop.abort("server stopped");
 * assert.equal(one.signal.reason, "server stopped");
 * assert.equal(two.signal.reason, "server stopped");
 * one.clear();
 * two.clear();
 * ```
 */
export function slottedDeadline(ms: number, linked: AbortSignal): SlottedDeadline {
  if (linked.aborted) return { signal: linked, clear() {} };
  const end = slotEnd(ms);
  let bySlot = deadlines.get(linked);
  if (bySlot === undefined) deadlines.set(linked, bySlot = new Map());
  const slot = bySlot;
  let shared = slot.get(end);
  if (shared === undefined) {
    const controller = new AbortController();
    // Every connect of the slot listens on it at once: Node would warn of a leak past 10 listeners on one signal.
    allowManyListeners(controller.signal);
    // Once aborted (time up, or the linked signal) or unused, the slot's deadline goes: no timer, no link stays.
    const drop = () => {
      if (slot.get(end) === made) slot.delete(end);
      cancel();
      linked.removeEventListener("abort", onLinked);
    };
    const onLinked = () => {
      drop();
      controller.abort(linked.reason);
    };
    linked.addEventListener("abort", onLinked, { once: true });
    const cancel = schedule(end, () => {
      drop();
      controller.abort(new DOMException(`no answer within ${ms} ms`, "TimeoutError"));
    });
    const made: SharedDeadline = { controller, users: 0, drop };
    slot.set(end, shared = made);
  }
  const mine = shared;
  mine.users++;
  let released = false;
  return {
    signal: mine.controller.signal,
    clear() {
      if (released) return;
      released = true;
      if (--mine.users === 0) mine.drop();
    },
  };
}
