// bench/pin.ts puts the servers and the load generator on different CPUs (bench/run.ts --pin): the CPU lists must
// parse as the kernel writes them, and a command started through it, with the threads and children it makes, must
// really run on the one CPU asked for, or a pinned run would compare servers on a core they do not have alone.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { describe, it } from "node:test";
import { allowedCpus, choosePinning, cpusAllowed, parseCpuList, pinned, strayThreads } from "../../bench/pin.ts";
import { processTree } from "../../bench/proc_stats.ts";

describe("bench: CPU pinning", () => {
  it("parses CPU lists as /proc and taskset write them, and picks the first and last CPU", () => {
    assert.deepEqual(parseCpuList("0-1"), [0, 1]);
    assert.deepEqual(parseCpuList("3,0-1,8-9\n"), [0, 1, 3, 8, 9]);
    assert.deepEqual(parseCpuList("5"), [5]);
    assert.throws(() => parseCpuList("0-1,x"), /not a CPU list/);
    assert.deepEqual(choosePinning([2, 3, 6]), { server: 2, load: 6 });
    assert.equal(choosePinning([4]), undefined);
    assert.deepEqual(pinned(undefined, "a", ["b"]), { command: "a", args: ["b"] });
    assert.deepEqual(pinned(1, "a", ["b"]), { command: "taskset", args: ["-c", "1", "a", "b"] });
  });

  it("a pinned command's every process and thread stays on its CPU, and strayThreads sees one that does not", async (t) => {
    const cpus = allowedCpus();
    if (cpus.length < 2) return t.skip("one CPU: nothing to pin apart");
    const cpu = cpus[cpus.length - 1];
    // A shell that starts a child in the background and a child of its own: the tree taskset's affinity must cover.
    const { command, args } = pinned(cpu, "sh", ["-c", "sleep 30 & sleep 30; wait"]);
    const child = spawn(command, args, { stdio: "ignore" });
    const exited = new Promise((resolve) => child.once("close", resolve));
    try {
      let tree: number[] = [];
      for (let i = 0; i < 100 && tree.length < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        tree = processTree(child.pid!);
      }
      assert.equal(tree.length, 3, `the shell and its two sleeps: ${tree}`);
      for (const pid of tree) assert.deepEqual(cpusAllowed(pid), [cpu]);
      assert.deepEqual(strayThreads(tree, cpu), []);
      // The same tree checked against the other CPU: every thread of it is a stray.
      assert.equal(strayThreads(tree, cpus[0]).length, 3);
      // This test's own process is not pinned to one CPU: its threads are strays for either.
      assert.ok(strayThreads([process.pid], cpu).length > 0);
    } finally {
      for (const pid of processTree(child.pid!).reverse()) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Gone.
        }
      }
      await exited;
    }
  });
});
