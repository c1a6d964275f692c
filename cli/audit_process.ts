/**
 * Running the audited program: in its own process group, its output kept (a tail) but not shown, stopped with its
 * whole group at the timeout. Inside the audit's PID namespace, whatever escaped the group dies with the namespace.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import type { ProgramEnd } from "../lib/audit/report.ts";

/** How the program ended, and the last bytes it wrote. */
export interface ProgramRun extends ProgramEnd {
  /** The last 4 KiB of its stdout and stderr together. */
  readonly outputTail: string;
}

const TAIL = 4096;

/** Sends SIGKILL to a whole process group; a group already gone is fine. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/**
 * Runs `command` to its end or until `timeoutMs`, then kills whatever is left of its process group. Its environment
 * is `base` (default: this process's) with `env` over it.
 */
export function runProgram(
  command: readonly string[],
  timeoutMs: number,
  env: Record<string, string> = {},
  base: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ProgramRun> {
  return new Promise((resolve) => {
    let tail = "";
    const keep = (chunk: Uint8Array) => {
      tail = (tail + new TextDecoder().decode(chunk)).slice(-TAIL);
    };
    const child = spawn(command[0], command.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: { ...base, ...env },
    });
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killGroup(child.pid);
    }, timeoutMs);
    let settled = false;
    let startError: string | undefined;
    const done = (exitCode: number | null, signal: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Children it left behind (a browser's helpers) go with it; one that left the group may still hold the
      // pipes, so they are not waited for.
      if (child.pid !== undefined) killGroup(child.pid);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ command, exitCode, signal, timedOut, outputTail: tail, ...(startError ? { startError } : {}) });
    };
    child.on("error", (error) => {
      startError = error.message;
      done(127, null);
    });
    // "exit", not "close": "close" waits for the pipes, which a process that escaped the group may keep open.
    child.on("exit", (code, signal) => done(code, signal));
  });
}
