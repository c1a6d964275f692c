/** Process facts from /proc (Linux, where these tests run): resident memory and open file descriptors. */
import { readdirSync, readFileSync } from "node:fs";

/** Resident set size of process `pid` in bytes. */
export function rssOf(pid: number | "self"): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** How many file descriptors this process has open. */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Megabytes, for messages. */
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
