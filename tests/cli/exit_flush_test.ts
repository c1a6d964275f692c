// Every command's output leaves the process whole before it exits: Node and Bun write to a pipe asynchronously, and
// an exit right after the write cut `tabi audit --json` at what the pipe held (64 KiB with a slow reader), which is
// no JSON at all. The audit is the command here because its report can be made as large as wanted cheaply: it
// repeats the audited command line, so three arguments of 100 KB make a report of about 300 KB.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cliCommand, run } from "../helpers/process.ts";
import { requirePeer } from "../helpers/peers.ts";

describe("output flushed before exit", () => {
  it("tabi audit --json into a slow reader: the whole report, valid JSON, and the verdict's exit code", async () => {
    for (const peer of ["unshare", "ip", "mount"]) requirePeer(peer);
    const [command, prefix] = cliCommand();
    const big = "a".repeat(100_000);
    // The reader starts a second late, so the CLI has written far more than the pipe holds when it is done.
    const script = '"$@" | { sleep 1; cat; }; echo "exit ${PIPESTATUS[0]}" >&2';
    const result = await run("bash", [
      "-c",
      script,
      "bash",
      command,
      ...prefix,
      "audit",
      "--json",
      "--",
      "true",
      big,
      big,
      big,
    ], {
      timeoutMs: 60_000,
    });
    const text = new TextDecoder().decode(result.stdout);
    assert.ok(text.length > 300_000, `${text.length} bytes: ${result.stderr}`);
    const report = JSON.parse(text);
    assert.deepEqual(report.program.command, ["true", big, big, big]);
    assert.equal(report.verdict, "no-request");
    assert.match(result.stderr, /exit 3\n$/);
  });
});
