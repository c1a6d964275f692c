/**
 * Dispatches `tabi` subcommands. Kept apart from main.ts so tests can run the CLI in-process.
 *
 * @module
 */
import { VERSION } from "../lib/version.ts";
import { parseOptions } from "./flags.ts";
import type { CliOutput } from "./output.ts";
import { USAGE_EXIT_CODE, UsageError } from "./usage_error.ts";

/** A subcommand: takes its own arguments, returns an exit code. */
export type Subcommand = (args: string[], output: CliOutput) => Promise<number>;

/** The top-level help text. */
export const HELP: string = `tabi ${VERSION}: a SOCKS4/4a/5 and HTTP proxy, and its client

Usage:
  tabi serve [options]      run a proxy speaking SOCKS4/4a/5 and HTTP on one port (default 127.0.0.1:1080);
                            see tabi serve --help
  tabi connect --proxy URL HOST PORT
                            a stdio tunnel through SOCKS proxies (ssh ProxyCommand); see tabi connect --help
  tabi resolve --proxy URL NAME | --ptr ADDRESS
                            resolve on the proxy (Tor's RESOLVE extension)
  tabi audit -- COMMAND {socks} {url}
                            does COMMAND leak DNS through its SOCKS proxy? see tabi audit --help
  tabi run [--proxy URL]... -- COMMAND [ARG...]
                            run COMMAND with no way to the network but through tabi; see tabi run --help
  tabi --help               this text
  tabi --version            the version

Run under Deno (deno run -A cli/main.ts), Bun (bun cli/main.ts) or Node (node dist/tabi.mjs).
`;

const subcommands: Record<string, () => Promise<Subcommand>> = {
  serve: async () => (await import("./serve.ts")).serve,
  connect: async () => (await import("./connect.ts")).connectCli,
  resolve: async () => (await import("./resolve.ts")).resolveCli,
  audit: async () => (await import("./audit.ts")).auditCli,
  run: async () => (await import("./run_program.ts")).runProgramCli,
};

/**
 * Runs the CLI with `args` (without the program name) and returns the exit code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runCli } from "./run.ts";
 * let text = "";
 * const code = await runCli(["--version"], { out: (t) => (text += t), err: () => {} });
 * assert.equal(code, 0);
 * assert.match(text, /^tabi \d+\.\d+\.\d+/);
 * ```
 */
export async function runCli(args: string[], output: CliOutput): Promise<number> {
  try {
    const first = args[0];
    if (first !== undefined && !first.startsWith("-")) {
      const load = subcommands[first];
      if (load === undefined) throw new UsageError(`unknown command "${first}" (try tabi --help)`);
      return await (await load())(args.slice(1), output);
    }
    const { values } = parseOptions(args, {
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "V" },
    });
    if (values.version) {
      output.out(`tabi ${VERSION}\n`);
      return 0;
    }
    output.out(HELP);
    return values.help ? 0 : USAGE_EXIT_CODE;
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`tabi: ${error.message}\n`);
      return USAGE_EXIT_CODE;
    }
    throw error;
  }
}
