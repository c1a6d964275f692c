/** examples/bun_fetch.ts runs under Bun as written and fetches through the proxy, the destination named by name. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cliCommandFor, run } from "../helpers/process.ts";

describe("examples/bun_fetch.ts", () => {
  it("fetches pages through a SOCKS proxy under Bun, and exits 0", async () => {
    const [bun] = cliCommandFor("bun");
    const result = await run(bun, ["examples/bun_fetch.ts"], { timeoutMs: 30_000 });
    const stdout = new TextDecoder().decode(result.stdout);
    assert.equal(result.code, 0, `${stdout}\n${result.stderr}`);
    assert.match(stdout, /^200 hello from \/page$/m);
    assert.match(stdout, /^hello from \/a, hello from \/b$/m);
    assert.match(stdout, /^proxy log: connect localhost:\d+ ok$/m);
    assert.doesNotMatch(stdout, /^proxy log: connect 127\.0\.0\.1:/m);
  });
});
