/**
 * Graceful stop: SIGTERM to `tabi serve` during 100 active transfers. The 90 that finish within the grace period
 * get every byte and are logged with their full count; the 10 that would run forever are closed when the grace
 * period ends; the process then exits.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../mod.ts";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { network, sleep } from "../helpers/net.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";

const TRANSFERS = 100;
const ENDLESS = 10;
const SIZE = 256 * 1024;
const GRACE_S = 3;

describe(`graceful stop of tabi serve (${runtimeName()})`, () => {
  it(`SIGTERM during ${TRANSFERS} transfers: finished ones are whole, endless ones are cut at the grace`, async () => {
    // The source reads one byte: 1 = send SIZE bytes over about a second, then end; 2 = send slowly forever.
    const source = await network.listen({ hostname: "127.0.0.1", port: 0 }, async (connection) => {
      const reader = connection.readable.getReader();
      const writer = connection.writable.getWriter();
      try {
        const { value } = await reader.read();
        const chunk = new Uint8Array(SIZE / 16).fill(7);
        if (value?.[0] === 1) {
          for (let i = 0; i < 16; i++) {
            await writer.write(chunk);
            await sleep(60);
          }
          await writer.close();
        } else {
          for (;;) {
            await writer.write(chunk.subarray(0, 100));
            await sleep(100);
          }
        }
      } catch {
        connection.close();
      }
    });
    const server = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--grace", String(GRACE_S)]);
    try {
      const transfers = await Promise.all(Array.from({ length: TRANSFERS }, async (_, i) => {
        const endless = i < ENDLESS;
        const tunnel = await connect(`socks5://${server.proxy}`, `127.0.0.1:${source.address.port}`);
        const writer = tunnel.writable.getWriter();
        await writer.write(new Uint8Array([endless ? 2 : 1]));
        // Half-close: the transfer is over when the source has sent everything and ended.
        await writer.close();
        return { endless, tunnel };
      }));
      const received = transfers.map(async ({ tunnel }) => {
        let bytes = 0;
        try {
          for await (const chunk of tunnel.readable) bytes += chunk.length;
          return { bytes, ended: "eof" };
        } catch {
          return { bytes, ended: "reset" };
        }
      });
      await sleep(200);
      const signalled = Date.now();
      server.kill("SIGTERM");
      const results = await Promise.all(received);
      const code = await server.exited;
      const stoppedAfter = Date.now() - signalled;
      // Deno's child_process reports a child it signalled as killed (null) even when it exits by itself.
      assert.ok(
        code === 0 || (code === null && runtimeName() === "deno"),
        `exit code ${code}: ${server.stderr().slice(-3000)}`,
      );
      for (const [i, result] of results.entries()) {
        if (transfers[i].endless) assert.ok(result.bytes < SIZE, `endless transfer ${i} got ${result.bytes}`);
        else assert.deepEqual(result, { bytes: SIZE, ended: "eof" }, `transfer ${i}`);
      }
      assert.ok(stoppedAfter >= GRACE_S * 1000 - 200, `stopped after ${stoppedAfter} ms, before the grace ended`);
      assert.ok(stoppedAfter < GRACE_S * 1000 + 5000, `stopped after ${stoppedAfter} ms`);
      const lines = server.stderr().split("\n").filter((l) => /^time=\S+ client=/.test(l));
      const ok = lines.filter((l) => l.includes("outcome=ok"));
      assert.equal(ok.length, TRANSFERS - ENDLESS, lines.join("\n"));
      assert.ok(ok.every((l) => l.includes(` down=${SIZE} `)), "a finished transfer logged a short count");
      assert.equal(lines.filter((l) => l.includes("outcome=aborted")).length, ENDLESS, lines.join("\n"));
      for (const { tunnel } of transfers) tunnel.close();
    } finally {
      server.kill("SIGKILL");
      await source.close();
    }
  });
});
