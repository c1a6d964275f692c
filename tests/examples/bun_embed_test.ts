/** The Bun embedding example of docs/library.md runs as written and does what it says. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cliCommandFor, run } from "../helpers/process.ts";

describe("examples/bun_embed.ts", () => {
  it("starts a server under Bun, fetches a page through it, and exits 0", async () => {
    const [bun] = cliCommandFor("bun");
    const result = await run(bun, ["examples/bun_embed.ts"], { timeoutMs: 30_000 });
    const stdout = new TextDecoder().decode(result.stdout);
    assert.equal(result.code, 0, `${stdout}\n${result.stderr}`);
    assert.match(stdout, /^proxy listening: socks5h:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(stdout, /^proxy log: connect localhost:\d+ ok$/m);
    assert.match(stdout, /^HTTP\/1\.1 200 OK\nhello through tabi$/m);
  });
});
