/**
 * Writing to stdout and stderr so that a closed one never stops the program, and so that the program can wait for
 * what it wrote before it exits. A closed pipe (`tabi serve 2>&1 | head -1`) or a closed descriptor (`2>&-`) shows up
 * as an EPIPE or EBADF 'error' event, emitted later and outside any try/catch, which would end the process; a server
 * must keep serving without its log. So a stream that fails is dropped; a failed stderr is said once on stdout while
 * that one still works. Node and Bun write to a pipe asynchronously: `process.exit` right after a write cuts the
 * output at what the pipe took (64 KiB when the reader is slow), so the entry waits for {@link GuardedOutput.flush}.
 *
 * @module
 */
import type { Writable } from "node:stream";
import type { CliOutput } from "./output.ts";

/** A stream that can fail, with its name for the one notice, and the writes it has not finished. */
interface Target {
  readonly name: "stdout" | "stderr";
  readonly stream: Writable;
  broken: boolean;
  pending: number;
  readonly idle: (() => void)[];
}

/** A CliOutput that also says when everything written so far has left the process. */
export interface GuardedOutput extends CliOutput {
  /** Resolves once every write made so far has been handed to the operating system (or its stream failed). */
  readonly flush: () => Promise<void>;
}

/**
 * Wraps two writable streams (the entry passes process.stdout and process.stderr) as a CliOutput that drops what it
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
 * await output.flush();
 * assert.match(written, /stderr is closed \(EPIPE\)/);
 * ```
 */
export function guardedOutput(stdout: Writable, stderr: Writable): GuardedOutput {
  const target = (name: Target["name"], stream: Writable): Target => ({
    name,
    stream,
    broken: false,
    pending: 0,
    idle: [],
  });
  const out = target("stdout", stdout);
  const err = target("stderr", stderr);
  const settle = (target: Target) => {
    if (target.pending > 0 && !target.broken) return;
    for (const resolve of target.idle.splice(0)) resolve();
  };
  const fail = (target: Target, other: Target, error: unknown) => {
    if (target.broken) return;
    target.broken = true;
    // A failed stream calls back no more writes, or calls them back with the error: nothing is left to wait for.
    settle(target);
    // A closed stdout is a reader that has had enough (`| head`): nothing to say. A closed stderr loses the log.
    if (target.name === "stdout") return;
    const code = (error as { code?: unknown })?.code ?? (error as Error)?.name ?? "error";
    write(other, target, `tabi: stderr is closed (${String(code)}): the log is dropped from now on\n`);
  };
  const write = (target: Target, other: Target, text: string) => {
    if (target.broken) return;
    target.pending++;
    try {
      target.stream.write(text, (error) => {
        target.pending--;
        if (error) fail(target, other, error);
        settle(target);
      });
    } catch (error) {
      // Some runtimes throw EBADF at once instead of emitting it.
      target.pending--;
      fail(target, other, error);
    }
  };
  const drained = (target: Target) =>
    new Promise<void>((resolve) => {
      target.idle.push(resolve);
      settle(target);
    });
  stdout.on("error", (error) => fail(out, err, error));
  stderr.on("error", (error) => fail(err, out, error));
  return {
    out: (text) => write(out, err, text),
    err: (text) => write(err, out, text),
    // stderr first: its failure notice goes to stdout, which is then waited for too.
    flush: async () => {
      await drained(err);
      await drained(out);
    },
  };
}
