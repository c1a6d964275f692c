/** `tabi serve` as a child process under any runtime, for end-to-end tests. */
import { spawn } from "node:child_process";
import type { RuntimeName } from "../../lib/runtime/detect.ts";
import { cliCommandFor } from "./process.ts";

/** A running `tabi serve`. */
export interface TabiServe {
  /** The first address from its "listening on" line, e.g. `127.0.0.1:40123`. */
  readonly proxy: string;
  /** The server's process id (the runtime itself: no wrapper process in between). */
  readonly pid: number;
  /** Everything it wrote to stderr so far (its log). */
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  kill(signal: "SIGTERM" | "SIGINT" | "SIGKILL"): void;
}

/**
 * Starts `tabi serve ARGS` under `runtime` and waits (up to 20 s) for it to say where it listens. `cli` replaces the
 * command that runs the CLI (e.g. `["node", ["dist/tabi.mjs"]]` for the bundle).
 */
export function startTabiServe(
  runtime: RuntimeName,
  args: string[],
  cli: [string, string[]] = cliCommandFor(runtime),
): Promise<TabiServe> {
  const [command, prefix] = cli;
  const child = spawn(command, [...prefix, "serve", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`tabi serve under ${runtime} did not start: ${stderr}`));
    }, 20_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tabi serve under ${runtime} exited (${code}): ${stderr}`));
    });
    child.stderr.on("data", (chunk: Uint8Array) => {
      const before = stderr;
      stderr += new TextDecoder().decode(chunk);
      const match = /listening on (\S+?),? /.exec(stderr);
      if (match && !/listening on/.test(before)) {
        clearTimeout(timer);
        resolve({
          proxy: match[1],
          pid: child.pid!,
          stderr: () => stderr,
          exited,
          kill: (signal) => child.kill(signal),
        });
      }
    });
  });
}
