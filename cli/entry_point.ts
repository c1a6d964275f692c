/**
 * Whether a module is the program's entry point. Deno and Bun say so in `import.meta.main`; Node 20 (under tsx, or
 * a bundled file) leaves it undefined, so there the script Node was asked to run (`process.argv[1]`) is compared with
 * the module's own file, both with symlinks resolved (an npm `bin` entry is a symlink).
 *
 * @module
 */
import { realpathSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** What is read of `import.meta`. */
export interface ModuleMeta {
  readonly url: string;
  readonly main?: boolean;
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * True when the module whose `import.meta` is given is the program's entry point.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isEntryPoint } from "./entry_point.ts";
 * assert.equal(isEntryPoint({ url: "file:///nowhere/not_the_entry.ts" }), false);
 * assert.equal(isEntryPoint({ url: "file:///nowhere/x.ts", main: true }), true);
 * ```
 */
export function isEntryPoint(meta: ModuleMeta): boolean {
  if (typeof meta.main === "boolean") return meta.main;
  const script = process.argv[1];
  if (script === undefined || !meta.url.startsWith("file:")) return false;
  const self = real(fileURLToPath(meta.url));
  // Node also runs "dist/tabi" as "dist/tabi.js".
  return [script, `${script}.js`, `${script}.mjs`].some((candidate) => real(candidate) === self);
}
