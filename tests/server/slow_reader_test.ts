/**
 * A slow reader: the destination sends 100 MB as fast as it can while the client reads 1 KB a second. The server
 * (`tabi serve` in its own process) must not buffer the difference: its memory stays bounded by its relay window,
 * and every byte arrives, in order, once the reader speeds up.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../mod.ts";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { network, sleep } from "../helpers/net.ts";
import { mb, rssOf } from "../helpers/proc.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";
import { payload } from "../helpers/targets.ts";

const TOTAL = 100 * 1024 * 1024;
const SLOW_SECONDS = 4;

describe(`slow reader through tabi serve (${runtimeName()})`, () => {
  it("100 MB to a client reading 1 KB/s: server memory stays bounded, then every byte arrives", async () => {
    const block = payload(1 << 20, 41);
    let sent = 0;
    // The destination writes 1 MiB blocks as fast as backpressure lets it, then ends.
    const source = await network.listen({ hostname: "127.0.0.1", port: 0 }, async (connection) => {
      const writer = connection.writable.getWriter();
      try {
        while (sent < TOTAL) {
          await writer.write(block);
          sent += block.length;
        }
        await writer.close();
      } catch {
        connection.close();
      }
    });
    const server = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--quiet"]);
    try {
      await sleep(300);
      const baseline = rssOf(server.pid);
      const tunnel = await connect(`socks5://${server.proxy}`, `127.0.0.1:${source.address.port}`);
      const reader = tunnel.readable.getReader({ mode: "byob" });
      let received = 0;
      let mismatch: number | undefined;
      const take = (chunk: Uint8Array) => {
        for (let i = 0; i < chunk.length; i++) {
          if (mismatch === undefined && chunk[i] !== block[(received + i) % block.length]) mismatch = received + i;
        }
        received += chunk.length;
      };
      let peak = baseline;
      for (let second = 0; second < SLOW_SECONDS; second++) {
        const { value } = await reader.read(new Uint8Array(1024));
        if (value) take(value);
        await sleep(1000);
        peak = Math.max(peak, rssOf(server.pid));
      }
      const sentWhileSlow = sent;
      console.log(
        `tabi serve (${runtimeName()}) with a 1 KB/s reader: RSS baseline ${mb(baseline)}, peak ${mb(peak)}; ` +
          `destination got ${mb(sentWhileSlow)} out of 100 MB meanwhile`,
      );
      // The server holds its relay window (256 KiB a direction) and the kernel buffers hold some more; nothing
      // like the 100 MB the destination wanted to send.
      assert.ok(peak - baseline < 48 << 20, `server RSS grew by ${mb(peak - baseline)}`);
      assert.ok(sentWhileSlow < 48 << 20, `the destination could send ${mb(sentWhileSlow)} to a stalled reader`);
      // Now read fast: all of it, in order.
      let buffer = new Uint8Array(256 * 1024);
      for (;;) {
        const { done, value } = await reader.read(buffer);
        if (done) break;
        take(value);
        buffer = new Uint8Array(value.buffer);
      }
      tunnel.close();
      assert.equal(mismatch, undefined, `first wrong byte at ${mismatch}`);
      assert.equal(received, TOTAL);
    } finally {
      server.kill("SIGKILL");
      await server.exited;
      await source.close();
    }
  });
});
