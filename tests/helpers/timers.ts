/**
 * Counting the timers code under test leaves behind: setTimeout and setInterval are wrapped while tracking is on,
 * so that after a scenario the test can assert none is still pending. Works the same under Deno, Bun and Node.
 */

/** The runtime's own timer functions, for the test's waits (not tracked). */
export const realSetTimeout: typeof setTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;

/** Waits `ms` on an untracked timer. */
export const untrackedSleep = (ms: number): Promise<void> => new Promise((resolve) => realSetTimeout(resolve, ms));

/** A live count of timers created since tracking started and neither fired (timeouts) nor cleared. */
export interface TimerTracker {
  live(): number;
  stop(): void;
}

/** Starts tracking; `stop()` puts the runtime's functions back. */
export function trackTimers(): TimerTracker {
  const pending = new Set<unknown>();
  const key = (handle: unknown) => (typeof handle === "object" && handle !== null ? handle : Number(handle));
  const g = globalThis as unknown as Record<string, unknown>;
  g.setTimeout = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const handle: unknown = realSetTimeout(() => {
      pending.delete(key(handle));
      callback(...args);
    }, ms);
    pending.add(key(handle));
    return handle;
  };
  g.clearTimeout = (handle: unknown) => {
    pending.delete(key(handle));
    realClearTimeout(handle as number);
  };
  g.setInterval = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const handle: unknown = realSetInterval(callback, ms, ...args);
    pending.add(key(handle));
    return handle;
  };
  g.clearInterval = (handle: unknown) => {
    pending.delete(key(handle));
    realClearInterval(handle as number);
  };
  return {
    live: () => pending.size,
    stop() {
      g.setTimeout = realSetTimeout;
      g.clearTimeout = realClearTimeout;
      g.setInterval = realSetInterval;
      g.clearInterval = realClearInterval;
    },
  };
}
