/** Running other programs from a test, the same way under Deno, Bun and Node. */
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { type RuntimeName, runtimeName } from "../../lib/runtime/detect.ts";
import { requirePeer } from "./peers.ts";

export interface RunResult {
  readonly code: number | null;
  readonly stdout: Uint8Array;
  readonly stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`), feeding `input` on stdin, then closing stdin. */
export function run(
  command: string,
  args: string[],
  options: { input?: Uint8Array; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...options.env } });
    const out: Uint8Array[] = [];
    let err = "";
    child.stdout.on("data", (c: Uint8Array) => out.push(c));
    child.stderr.on("data", (c: Uint8Array) => (err += new TextDecoder().decode(c)));
    child.on("error", reject);
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 15_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      const stdout = new Uint8Array(out.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of out) {
        stdout.set(c, at);
        at += c.length;
      }
      resolve({ code, stdout, stderr: err });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? new Uint8Array());
  });
}

/** The command and leading arguments that run `cli/main.ts` under the running runtime. */
export function cliCommand(): [string, string[]] {
  return cliCommandFor(runtimeName());
}

/**
 * The command and leading arguments that run `cli/main.ts` under `runtime`: Deno and Bun from node_modules (npm
 * installs both), Node 20 with tsx, since it cannot strip types itself. Deno and Node get V8's young generation
 * capped as `npm start` and the npm bin run them (`--max-semi-space-size=1`).
 */
export function cliCommandFor(runtime: RuntimeName): [string, string[]] {
  const main = join("cli", "main.ts");
  const bin = (name: string) => (runtimeName() === name ? process.execPath : join("node_modules", ".bin", name));
  switch (runtime) {
    case "deno":
      return [bin("deno"), ["run", "-A", "--v8-flags=--max-semi-space-size=1", main]];
    case "bun":
      return [bin("bun"), [main]];
    default:
      return [runtimeName() === "node" ? process.execPath : "node", [
        "--max-semi-space-size=1",
        "--import",
        "tsx",
        main,
      ]];
  }
}

/** Throws a clear error when a peer program is missing: the test must fail, not skip. Prefer `requirePeer`. */
export function requireTool(name: string): Promise<void> {
  return Promise.resolve().then(() => void requirePeer(name));
}

/** A long-running program started for a test. */
export interface Daemon {
  readonly output: () => string;
  stop(): Promise<void>;
}

/** Starts a program in the background; `stop()` kills it and waits for it to exit. */
export function daemon(command: string, args: string[]): Daemon {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Uint8Array) => (output += new TextDecoder().decode(chunk));
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  child.on("error", (error) => (output += `spawn error: ${error.message}`));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  return {
    output: () => output,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The current user's name. Asks `id -un`: Bun's os.userInfo().username answers "unknown". */
export function currentUser(): string {
  return execFileSync("id", ["-un"], { encoding: "utf8" }).trim();
}
