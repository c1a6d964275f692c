/**
 * What every entry point of the `tabi` command does (cli/main.ts under Deno, Bun and tsx; cli/bin.ts, bundled as
 * dist/tabi.mjs for Node and npm's bin): run the CLI on the process's arguments with guarded stdout and stderr (a
 * closed log pipe never stops a server), wait until all it wrote has left the process, then exit with its code. One
 * function, so that no entry point can lose either guard again.
 *
 * @module
 */
import process from "node:process";
import { guardedOutput } from "./guarded_output.ts";
import { runCli } from "./run.ts";

/**
 * Runs `tabi` with `process.argv` and exits the process with its exit code, after flushing its output.
 */
export async function runAsProgram(): Promise<never> {
  const output = guardedOutput(process.stdout, process.stderr);
  const code = await runCli(process.argv.slice(2), output);
  // Node and Bun write to pipes asynchronously: exiting at once would cut a large output (a JSON report) at what the
  // pipe held, 64 KiB with a slow reader.
  await output.flush();
  // Then exit at once: `tabi connect` may still hold stdin open, and timers of a stopped server need not run out.
  process.exit(code);
}
