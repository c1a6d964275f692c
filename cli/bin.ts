#!/usr/bin/env -S node --max-semi-space-size=1
/**
 * The entry of the `tabi` command that npm installs (package.json `bin`): bundled into plain JavaScript as
 * `dist/tabi.mjs` by `npm run build` (scripts/build.mjs), so that `node` itself runs the CLI and the signals sent to
 * `tabi` reach the server, with no wrapper process in between. The shebang caps V8's young generation at 1 MB per
 * semi-space (default 16): a proxy opening thousands of tunnels otherwise grows it to its maximum, and that, not what
 * the tunnels hold, is most of its resident memory (bench/README.md, "Memory"); the CPU figures do not move with it.
 * Unlike main.ts it runs whenever it is loaded: an npm bin is reached through a symlink, so "am I the entry point"
 * checks would compare two different paths.
 *
 * @module
 */
import { runAsProgram } from "./entry.ts";

await runAsProgram();
