/** cli/main.ts runs the CLI only as the program's entry point: importing it (a test, a bundle) runs nothing. */
import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";

describe("cli/main.ts", () => {
  it("importing it does not run the CLI", async () => {
    let exitCalled = false;
    const exit = process.exit;
    // Were the CLI to run, it would parse this runner's arguments and end the process through process.exit.
    process.exit = ((code?: number) => {
      exitCalled = true;
      throw new Error(`cli/main.ts ran on import and exited with ${code}`);
    }) as typeof process.exit;
    try {
      await import("../../cli/main.ts");
    } finally {
      process.exit = exit;
    }
    assert.equal(exitCalled, false);
  });
});
