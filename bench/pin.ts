/**
 * CPU pinning for the bench (bench/run.ts `--pin`): the server under test on one CPU, the load generator on another,
 * so that neither takes the other's core and a one-process server is compared with a multi-threaded one (microsocks,
 * Dante) on the same single core. Done with taskset(1) on the command: the affinity it sets is inherited by every
 * thread and child process the command makes.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";

/** The CPU of the servers and the CPU of the load generator (socksbench, its targets and the orchestrator). */
export interface Pinning {
  readonly server: number;
  readonly load: number;
}

/** A CPU list as taskset and /proc write it (`0-3,6,8-9`), as numbers in order. */
export function parseCpuList(list: string): number[] {
  const cpus = new Set<number>();
  for (const part of list.trim().split(",")) {
    if (part === "") continue;
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new Error(`not a CPU list: ${JSON.stringify(list)}`);
    const [first, last] = [Number(match[1]), Number(match[2] ?? match[1])];
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The `Cpus_allowed_list` of a process or one of its threads (`/proc/PID/task/TID`), or undefined when gone. */
export function cpusAllowed(pid: number, tid?: number): number[] | undefined {
  try {
    const status = readFileSync(tid === undefined ? `/proc/${pid}/status` : `/proc/${pid}/task/${tid}/status`, "utf8");
    const match = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status);
    return match ? parseCpuList(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The CPUs this process may run on (its affinity, which may be fewer than the machine has), else every CPU. */
export function allowedCpus(): number[] {
  return cpusAllowed(process.pid) ?? os.cpus().map((_, i) => i);
}

/** Servers on the first allowed CPU, load on the last; undefined with fewer than 2 CPUs (nothing to separate). */
export function choosePinning(cpus: readonly number[]): Pinning | undefined {
  return cpus.length >= 2 ? { server: cpus[0], load: cpus[cpus.length - 1] } : undefined;
}

/** `command args` run on `cpu` (through taskset, which execs it: the pid stays the command's), or as is. */
export function pinned(cpu: number | undefined, command: string, args: string[]): { command: string; args: string[] } {
  return cpu === undefined ? { command, args } : { command: "taskset", args: ["-c", String(cpu), command, ...args] };
}

/** Moves a running process, every thread of it, to `cpu` (the orchestrator itself, onto the load generator's CPU). */
export function pinProcess(pid: number, cpu: number): void {
  execFileSync("taskset", ["-a", "-c", "-p", String(cpu), String(pid)], { stdio: "ignore" });
}

/**
 * Every thread of every process in `pids` whose affinity is not `cpu` alone, as `pid/tid: list`; empty when the
 * pinning holds.
 */
export function strayThreads(pids: readonly number[], cpu: number): string[] {
  const stray: string[] = [];
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // Exited meanwhile.
    }
    for (const tid of tids) {
      const cpus = cpusAllowed(pid, Number(tid));
      if (cpus && (cpus.length !== 1 || cpus[0] !== cpu)) stray.push(`${pid}/${tid}: ${cpus.join(",")}`);
    }
  }
  return stray;
}
