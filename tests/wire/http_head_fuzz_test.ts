/** What fuzzing the HTTP head decoder (tests/wire/parsers_fuzz_test.ts, bench/fuzz.ts) found, kept as tests. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cliCommand, run } from "../helpers/process.ts";

/** The command that runs a TypeScript file under this runtime (cli/main.ts's command with the file swapped in). */
function scriptCommand(file: string): [string, string[]] {
  const [command, args] = cliCommand();
  return [command, [...args.slice(0, -1), file]];
}

describe("HTTP head decoder under fuzzing", () => {
  it("trims a field value in linear time: a megabyte of inner blanks is read at once, not in minutes", async () => {
    // The old trim, /^[ \t]+|[ \t]+$/g, tried every blank of an inner run as the start of the trailing whitespace:
    // quadratic, about 2 s for one 64 KiB value and 8 minutes for this one. The child is killed after 60 s, some
    // hundred times what the linear trim takes on a loaded machine; the decoder runs in a child so that the kill can
    // end a decoder that never returns.
    const head = new TextEncoder().encode(`GET / HTTP/1.1\r\nX-Blanks: a${" ".repeat(1 << 20)}b\r\n\r\n`);
    const [command, args] = scriptCommand(join("tests", "helpers", "decode_http_head_child.ts"));
    const result = await run(command, args, { input: head, timeoutMs: 60_000 });
    assert.equal(result.code, 0, `child ended ${result.code}: ${result.stderr}`);
    assert.equal(new TextDecoder().decode(result.stdout), "headers 1");
  });
});
