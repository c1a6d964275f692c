// A listener out of file descriptors reports it through ListenOptions.onAcceptError, once per interval however
// many accepts fail, and keeps running.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { cliCommandFor, requireTool } from "../helpers/process.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("accept errors", () => {
  it("EMFILE is reported once per interval, not once per failed accept", async () => {
    await requireTool("prlimit");
    // The runtime command without cli/main.ts: the same runtime runs the helper script instead.
    const [command, prefix] = cliCommandFor(runtimeName());
    const script = join("tests", "helpers", "fd_starved_listener.ts");
    const args = [...prefix.slice(0, -1), script];
    const child = spawn("prlimit", ["--nofile=64", command, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr.on("data", (chunk: Uint8Array) => (log += new TextDecoder().decode(chunk)));
    const exited = new Promise((resolve) => child.on("close", resolve));
    const sockets: net.Socket[] = [];
    try {
      const until = Date.now() + 20_000;
      while (!/listening on/.test(log) && Date.now() < until) await sleep(50);
      const port = Number(/listening on [^ ]*:(\d+)/.exec(log)?.[1]);
      assert.ok(port > 0, `the listener did not start: ${log}`);
      // Three waves of more clients than descriptors, a second apart: many failed accepts, one interval.
      for (let wave = 0; wave < 3; wave++) {
        for (let i = 0; i < 100; i++) {
          const socket = net.connect({ host: "127.0.0.1", port });
          socket.on("error", () => {});
          sockets.push(socket);
        }
        await sleep(1000);
      }
      const reports = log.split("\n").filter((line) => line.startsWith("report: "));
      assert.equal(reports.length, 1, log);
      assert.match(reports[0], /too many open files|EMFILE/i);
    } finally {
      for (const socket of sockets) socket.destroy();
      child.kill("SIGKILL");
      await exited;
    }
  });
});
