/**
 * The `node:` built-in modules the Deno, Bun and Node adapters use, taken from `process.getBuiltinModule` when first
 * needed instead of imported. A static `import ... from "node:net"` anywhere in the package root's module graph is
 * hoisted by bundlers (esbuild without code splitting) to the top of a bundle, even from a module that is only
 * imported dynamically and never evaluated, and a Cloudflare Worker without `nodejs_compat` then fails to load
 * ("No such module node:net"). Deno (2.1+), Bun and Node (20.16+) all have `process.getBuiltinModule`, synchronous
 * and without permissions.
 *
 * @module
 */

/** `process.getBuiltinModule`, as the runtimes that run these adapters have it. */
interface BuiltinLoader {
  getBuiltinModule(id: string): unknown;
}

/**
 * The `node:` built-in module `id` (e.g. `"node:net"`), typed by the caller. Throws where the runtime has none (an
 * edge runtime, which never runs these adapters).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { builtinModule } from "./builtin_module.ts";
 * const net = builtinModule<typeof import("node:net")>("node:net");
 * assert.equal(net.isIP("127.0.0.1"), 4);
 * ```
 */
export function builtinModule<T>(id: `node:${string}`): T {
  const loader = (globalThis as { process?: Partial<BuiltinLoader> }).process;
  if (typeof loader?.getBuiltinModule !== "function") {
    throw new TypeError(`${id} is not available here: process.getBuiltinModule is missing (Node 20.16+ has it)`);
  }
  return loader.getBuiltinModule(id) as T;
}
