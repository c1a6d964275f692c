#!/usr/bin/env node
// Bundles the CLI into one plain JavaScript file for Node, dist/tabi.mjs (package.json's `bin`), with esbuild.
// `npm ci` runs it (the `prepare` script), and `npm run build` after a change; dist/ is not committed.
// Usage: node scripts/build.mjs [OUTFILE]   (default dist/tabi.mjs)
import { build } from "esbuild";
import { chmodSync } from "node:fs";
import { fileURLToPath } from "node:url";
import process from "node:process";

const root = fileURLToPath(new URL("..", import.meta.url));
const outfile = process.argv[2] ?? `${root}dist/tabi.mjs`;
await build({
  entryPoints: [`${root}cli/bin.ts`],
  outfile,
  bundle: true,
  // Node 20 is the oldest runtime tabi supports; node: built-ins stay imports, the code needs nothing else.
  platform: "node",
  format: "esm",
  target: "node20",
  // Deno and Bun adapters come along (the runtime is detected at start); they touch Deno.* and Bun.* only when run.
  logLevel: "warning",
  legalComments: "none",
});
chmodSync(outfile, 0o755);
console.log(`built ${outfile}`);
