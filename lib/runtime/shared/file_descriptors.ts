/**
 * Running out of file descriptors (EMFILE, ENFILE): recognising it, reporting it at most once per interval, and,
 * for Bun, seeing it coming. Bun retries a failed accept() at once, in native code, with no event for JavaScript:
 * under `ulimit -n` exhaustion it uses a whole core for as long as the shortage lasts. The Bun adapter therefore
 * stops listening before the table is full ({@link FileDescriptorBudget}). Node does not spin (libuv closes a spare
 * descriptor to accept and drop the connection) but says nothing either, so its listener looks at the table once a
 * second when someone wants the report; Deno's accept loop sees the error itself and sleeps.
 *
 * @module
 */
import type fsModule from "node:fs";
import { ACCEPT_REPORT_INTERVAL_MS } from "../../net/network.ts";
import { builtinModule } from "./builtin_module.ts";

const fs = (): typeof fsModule => builtinModule<typeof fsModule>("node:fs");

/** True for an error that says the process or the system is out of file descriptors. */
export function isOutOfFiles(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (code === "EMFILE" || code === "ENFILE") return true;
  // Deno reports it as a plain Error with the OS text.
  return /too many open files/i.test(String((error as { message?: unknown })?.message ?? ""));
}

/**
 * True when this process cannot open one more descriptor now. Bun reports a connect() that failed for want of a
 * descriptor as ECONNREFUSED; this tells the two apart (one open and close of /dev/null).
 */
export function outOfFilesNow(): boolean {
  try {
    const { closeSync, openSync } = fs();
    closeSync(openSync("/dev/null", "r"));
    return false;
  } catch (error) {
    return isOutOfFiles(error);
  }
}

/** Calls `report` with the first error and then at most once per interval; later errors in it are counted. */
export function throttledReporter(
  report: ((error: Error) => void) | undefined,
  intervalMs: number = ACCEPT_REPORT_INTERVAL_MS,
): (error: Error) => void {
  let last = -Infinity;
  return (error) => {
    const now = Date.now();
    if (report === undefined || now - last < intervalMs) return;
    last = now;
    try {
      report(error);
    } catch {
      // A reporter that throws must not stop the listener.
    }
  };
}

/** How many descriptors a Bun listener leaves free when it stops accepting: room for CONNECT's outbound sockets. */
const RESERVE = 32;

/**
 * This process's descriptor table as far as Linux shows it (/proc/self/limits and /proc/self/fd). Counting the
 * table is a directory listing, so it is done only near the limit; `undefined` where /proc is missing or the limit
 * is unlimited.
 */
export class FileDescriptorBudget {
  readonly #limit: number;

  private constructor(limit: number) {
    this.#limit = limit;
  }

  /** The budget of this process, or undefined where it cannot be read. */
  static read(): FileDescriptorBudget | undefined {
    try {
      const line = /^Max open files\s+(\d+)/m.exec(fs().readFileSync("/proc/self/limits", "utf8"));
      return line ? new FileDescriptorBudget(Number(line[1])) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The soft limit (`ulimit -n`). */
  get limit(): number {
    return this.#limit;
  }

  /** Descriptors open now. */
  inUse(): number {
    try {
      return fs().readdirSync("/proc/self/fd").length;
    } catch (error) {
      // Listing the table takes a descriptor: failing for want of one means it is full.
      return isOutOfFiles(error) ? this.#limit : 0;
    }
  }

  /** True when accepting one more connection would eat into the reserve. */
  tight(inUse: number = this.inUse()): boolean {
    return inUse >= this.#limit - this.#reserve();
  }

  /** True when the table is full (libuv keeps one spare descriptor open for its EMFILE trick). */
  full(inUse: number = this.inUse()): boolean {
    return inUse >= this.#limit - 1;
  }

  /** True when enough was freed to accept again (a margin below {@link tight}, so that it does not flap). */
  roomy(inUse: number = this.inUse()): boolean {
    return inUse < this.#limit - 2 * this.#reserve();
  }

  #reserve(): number {
    return Math.min(RESERVE, Math.floor(this.#limit / 8));
  }
}
