/**
 * Resident memory and CPU time of a process and its descendants, from /proc (Linux). Dante forks workers, so a
 * server's figure is its whole process tree.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/PID/stat (CLK_TCK is 100 on Linux x86-64). */
const TICKS_PER_SECOND = 100;

function stat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces; everything after its closing paren splits cleanly.
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** `pid` and every process below it. */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = stat(Number(entry));
    if (fields) parentOf.set(Number(entry), Number(fields[1]));
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parentOf) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/** Resident set size of the tree, in bytes. */
export function treeRss(pid: number): number {
  let kib = 0;
  for (const member of processTree(pid)) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${member}/status`, "utf8"));
      if (match) kib += Number(match[1]);
    } catch {
      // Exited meanwhile.
    }
  }
  return kib * 1024;
}

/** User plus system CPU time of the tree, in seconds (children that exited and were waited for included). */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const member of processTree(pid)) {
    const fields = stat(member);
    // Fields 14-17 of stat (utime, stime, cutime, cstime), counted from 1 with pid and comm removed: 11-14.
    if (fields) ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return ticks / TICKS_PER_SECOND;
}
