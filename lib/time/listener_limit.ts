/**
 * Lifting Node's limit of 10 listeners on one AbortSignal, for the signals many tunnels listen on at once (a
 * server's stop, a slot's shared deadline). Past the limit Node warns of a leak (MaxListenersExceededWarning); the
 * other runtimes have no such limit.
 *
 * `node:events` is loaded, not imported: a static import would be hoisted into the top of any bundle of the package
 * root (esbuild without code splitting), and a Cloudflare Worker without `nodejs_compat` has no `node:` modules and
 * would fail to load. The load starts with this module, so it is done long before a server has ten tunnels.
 *
 * @module
 */

type SetMaxListeners = (n: number, ...targets: EventTarget[]) => void;

let setMax: SetMaxListeners | undefined;
const loading: Promise<void> = import("node:events").then(
  (events) => {
    // setMaxListeners is a named export of node:events (Node 15.4+, Deno, Bun), not a property of its default.
    setMax = (events as unknown as { setMaxListeners: SetMaxListeners }).setMaxListeners;
  },
  // No node:events (a Worker without nodejs_compat): no listener limit to lift either.
  () => {},
);

/**
 * Lets any number of listeners wait on `signal` without Node's leak warning. Harmless where there is no limit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allowManyListeners } from "./listener_limit.ts";
 * const controller = new AbortController();
 * allowManyListeners(controller.signal);
 * let calls = 0;
 * for (let i = 0; i < 20; i++) controller.signal.addEventListener("abort", () => calls++);
 * controller.abort();
 * assert.equal(calls, 20);
 * ```
 */
export function allowManyListeners(signal: AbortSignal): void {
  if (setMax !== undefined) setMax(0, signal);
  else void loading.then(() => setMax?.(0, signal));
}
