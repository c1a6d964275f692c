/**
 * The command line's shared flag parsing: parseArgs in strict mode, typed from the option table it is given, with
 * its errors turned into UsageErrors that name the flag. Every subcommand parses its flags here.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "./usage_error.ts";

/** The option table parseArgs takes. */
export type OptionTable = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>["options"]>;

/** What parseArgs returns for `T`: values typed from the table (a string flag is a string, and so on). */
export type ParsedOptions<T extends OptionTable> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>
>;

/**
 * parseArgs in strict mode with positionals allowed; a mistake is a UsageError naming the flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOptions } from "./flags.ts";
 * const { values, positionals } = parseOptions(["--proxy", "socks5://h", "x"], { proxy: { type: "string" } });
 * assert.equal(values.proxy, "socks5://h");
 * assert.deepEqual(positionals, ["x"]);
 * assert.throws(() => parseOptions(["--nope"], {}), /--nope/);
 * ```
 */
export function parseOptions<T extends OptionTable>(args: string[], options: T): ParsedOptions<T> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    // parseArgs names the flag in its message ("Unknown option '--x'"); keep it, drop Node's advice.
    const message = error instanceof Error ? error.message.split(". To specify")[0] : String(error);
    throw new UsageError(message);
  }
}
