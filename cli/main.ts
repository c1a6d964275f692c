/**
 * The `tabi` command line: `tabi serve`, `tabi --help`, `tabi --version`.
 *
 * @example
 * ```sh
 * deno run -A jsr:@tabi/socks/cli serve --listen 127.0.0.1:1080
 * ```
 *
 * @module
 */
import process from "node:process";
import { runCli } from "./run.ts";

if (import.meta.main ?? true) {
  const code = await runCli(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
  // Exit now: `tabi connect` may still hold stdin open, and every command has flushed what it wrote.
  process.exit(code);
}
