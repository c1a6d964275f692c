/**
 * The `tabi` command line: `tabi serve`, `tabi --help`, `tabi --version`. It runs only when this file is the
 * program's entry point, so importing it (a test, a bundle) runs nothing.
 *
 * @example
 * ```sh
 * deno run -A jsr:@tabi/socks/cli serve --listen 127.0.0.1:1080
 * ```
 *
 * @module
 */
import { isEntryPoint } from "./entry_point.ts";
import { runAsProgram } from "./entry.ts";

if (isEntryPoint(import.meta)) await runAsProgram();
