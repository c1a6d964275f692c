/**
 * Writing to stdout and stderr so that a closed one never stops the program. A closed pipe (`tabi serve 2>&1 |
 * head -1`) or a closed descriptor (`2>&-`) shows up as an EPIPE or EBADF 'error' event, emitted later and outside any
 * try/catch, which would end the process; a server must keep serving without its log. So a stream that fails is
 * dropped; a failed stderr is said once on stdout while that one still works.
 *
 * @module
 */
import type { Writable } from "node:stream";
import type { CliOutput } from "./output.ts";

/** A stream that can fail, with its name for the one notice. */
interface Target {
  readonly name: "stdout" | "stderr";
  readonly stream: Writable;
  broken: boolean;
}

/**
 * Wraps two writable streams (main.ts passes process.stdout and process.stderr) as a CliOutput that drops what it
 * cannot write.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Writable } from "node:stream";
 * import { guardedOutput } from "./guarded_output.ts";
 * let written = "";
 * const out = new Writable({ write: (chunk, _encoding, done) => ((written += chunk), done()) });
 * const err = new Writable({ write: (_chunk, _encoding, done) => done(Object.assign(new Error("EPIPE"), { code: "EPIPE" })) });
 * const output = guardedOutput(out, err);
 * output.err("lost\n");
 * await new Promise((resolve) => setTimeout(resolve, 10));
 * output.err("dropped\n");
 * assert.match(written, /stderr is closed \(EPIPE\)/);
 * ```
 */
export function guardedOutput(stdout: Writable, stderr: Writable): CliOutput {
  const out: Target = { name: "stdout", stream: stdout, broken: false };
  const err: Target = { name: "stderr", stream: stderr, broken: false };
  const fail = (target: Target, other: Target, error: unknown) => {
    if (target.broken) return;
    target.broken = true;
    // A closed stdout is a reader that has had enough (`| head`): nothing to say. A closed stderr loses the log.
    if (target.name === "stdout") return;
    const code = (error as { code?: unknown })?.code ?? (error as Error)?.name ?? "error";
    write(other, target, `tabi: stderr is closed (${String(code)}): the log is dropped from now on\n`);
  };
  const write = (target: Target, other: Target, text: string) => {
    if (target.broken) return;
    try {
      target.stream.write(text, (error) => {
        if (error) fail(target, other, error);
      });
    } catch (error) {
      // Some runtimes throw EBADF at once instead of emitting it.
      fail(target, other, error);
    }
  };
  stdout.on("error", (error) => fail(out, err, error));
  stderr.on("error", (error) => fail(err, out, error));
  return { out: (text) => write(out, err, text), err: (text) => write(err, out, text) };
}
