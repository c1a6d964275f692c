/**
 * The `tabi` command line: `tabi serve` (the SOCKS4/4a/5 and HTTP proxy), `tabi connect` (a stdio tunnel through
 * proxies), `tabi resolve` (a name looked up by the proxy), `tabi audit` (does a program leak DNS through its proxy?),
 * `tabi --help` and `tabi --version`; cli/run.ts dispatches them. It runs only when this file is the program's entry
 * point, so importing it (a test, a bundle) runs nothing.
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
