/**
 * A flood against `tabi serve` (its own process, so its memory can be read): 2,000 clients that connect and send
 * nothing, then 1,000 slowloris clients that send a byte every 300 ms, while a good client moves a known payload.
 * Every flood connection is closed when its handshake time is up, whatever it sends; the good client gets every
 * byte; and the server's memory comes back near its baseline.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../mod.ts";
import type { Connection } from "../../lib/net/network.ts";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { echoServer, network, sleep } from "../helpers/net.ts";
import { mb, rssOf } from "../helpers/proc.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";
import { payload, sameBytes } from "../helpers/targets.ts";

const IDLE = 2000;
const SLOWLORIS = 1000;
const HANDSHAKE_S = 3;

/** Opens `count` connections, 100 at a time. */
async function openMany(hostname: string, port: number, count: number): Promise<Connection[]> {
  const all: Connection[] = [];
  for (let i = 0; i < count; i += 100) {
    all.push(
      ...await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => network.connect({ hostname, port }))),
    );
  }
  return all;
}

/** Resolves with the time (ms since `since`) at which the server closed `connection`. */
async function closedAt(connection: Connection, since: number): Promise<number> {
  const reader = connection.readable.getReader();
  try {
    while (!(await reader.read()).done);
  } catch {
    // A reset is a close too.
  }
  return Date.now() - since;
}

/** Moves `data` through a tunnel to the echo server and back. */
async function goodClient(proxy: string, echoPort: number, data: Uint8Array): Promise<Uint8Array> {
  const tunnel = await connect(`socks5h://${proxy}`, `localhost:${echoPort}`);
  const writer = tunnel.writable.getWriter();
  const writing = (async () => {
    for (let at = 0; at < data.length; at += 64 * 1024) {
      await writer.write(data.subarray(at, at + 64 * 1024));
      await sleep(5);
    }
    await writer.close();
  })();
  const echoed = new Uint8Array(await new Response(tunnel.readable).arrayBuffer());
  await writing;
  tunnel.close();
  return echoed;
}

describe(`flood against tabi serve (${runtimeName()})`, () => {
  it(`${IDLE} silent and ${SLOWLORIS} slowloris clients are closed on time; a good client gets every byte`, async () => {
    const echo = await echoServer();
    // The flood comes from 127.0.0.1 like the good client, so the per-address limits are opened up: this test is
    // about surviving the load (limits_test.ts covers refusing it).
    const server = await startTabiServe(runtimeName(), [
      "--listen",
      "127.0.0.1:0",
      "--handshake-timeout",
      String(HANDSHAKE_S),
      "--max-clients-per-address",
      "10000",
      "--max-handshakes",
      "10000",
      "--quiet",
    ]);
    const [hostname, portText] = server.proxy.split(":");
    const port = Number(portText);
    const data = payload(4 << 20, 31);
    try {
      // Warm up, then take the baseline.
      assert.ok(
        sameBytes(
          await goodClient(server.proxy, echo.address.port, data.subarray(0, 1 << 20)),
          data.subarray(0, 1 << 20),
        ),
      );
      await sleep(500);
      const baseline = rssOf(server.pid);
      let peak = baseline;
      /** One flood with the good client running through it; resolves with the peak RSS seen. */
      const flood = async (): Promise<number> => {
        let floodPeak = rssOf(server.pid);
        const sampler = setInterval(() => (floodPeak = Math.max(floodPeak, rssOf(server.pid))), 100);
        try {
          const idleStart = Date.now();
          const idle = await openMany(hostname, port, IDLE);
          const idleClosed = idle.map((c) => closedAt(c, idleStart));
          const slowStart = Date.now();
          const slow = await openMany(hostname, port, SLOWLORIS);
          const slowClosed = slow.map((c) => closedAt(c, slowStart));
          // SOCKS5 greeting with 255 methods, a byte at a time: always a valid prefix, never complete in time.
          const drip = slow.map((connection, i) => {
            const writer = connection.writable.getWriter();
            let sent = 0;
            const timer = setInterval(() => {
              const byte = sent === 0 ? 5 : sent === 1 ? 255 : (sent + i) % 256;
              sent++;
              writer.write(new Uint8Array([byte])).catch(() => clearInterval(timer));
            }, 300);
            return timer;
          });
          try {
            const echoed = await goodClient(server.proxy, echo.address.port, data);
            assert.ok(sameBytes(echoed, data), `the good client got ${echoed.length} of ${data.length} bytes`);
            const idleTimes = await Promise.all(idleClosed);
            const slowTimes = await Promise.all(slowClosed);
            const limit = HANDSHAKE_S * 1000 + 4000;
            assert.ok(Math.max(...idleTimes) < limit, `silent clients closed after up to ${Math.max(...idleTimes)} ms`);
            assert.ok(
              Math.max(...slowTimes) < limit,
              `slowloris clients closed after up to ${Math.max(...slowTimes)} ms`,
            );
            assert.ok(Math.min(...slowTimes) >= HANDSHAKE_S * 1000 - 500, "a slowloris client closed before its time");
          } finally {
            for (const timer of drip) clearInterval(timer);
            for (const connection of [...idle, ...slow]) connection.close();
          }
        } finally {
          clearInterval(sampler);
        }
        return floodPeak;
      };

      // Three floods: the first grows the heap, the second also meets the first one's garbage, the third shows
      // whether anything is kept per connection (a leak would add its share again).
      const peaks = [await flood(), await flood(), await flood()];
      peak = Math.max(...peaks);
      // And after: a good client still works, and memory comes back near the baseline (under Bun).
      assert.ok(sameBytes(await goodClient(server.proxy, echo.address.port, data), data));
      let after = rssOf(server.pid);
      // Bun returns memory within seconds; the others are sampled once, see below.
      const settleUntil = Date.now() + (runtimeName() === "bun" ? 15_000 : 2_000);
      const near = () => after <= baseline + Math.max(24 << 20, (peak - baseline) / 2);
      while (!near() && Date.now() < settleUntil) {
        await sleep(500);
        after = rssOf(server.pid);
      }
      console.log(
        `tabi serve (${runtimeName()}) RSS: baseline ${mb(baseline)}, flood peaks ${peaks.map(mb).join(", ")}, ` +
          `${mb(after)} at the end`,
      );
      // Bounded: under 96 KB per flood connection at the worst peak (garbage of earlier floods included), and no
      // leak: the third flood stays near the second one's peak. V8's old generation grows for a few floods before
      // a major collection (Deno: 138, 183, 200, 240, 266, 219, 247 MB over eight), hence the slack.
      const flooders = IDLE + SLOWLORIS;
      assert.ok(peak - baseline < flooders * 96 * 1024, `peaks ${peaks.map(mb)} over a baseline of ${mb(baseline)}`);
      // V8 (Deno, Node) grows its heap for a few floods before a major collection, by more when the machine is busy,
      // and not steadily (seen: Deno 180, 198, 253 MB; Node 204, 267, 336, 292, 374 MB over five; 240, 228, 324 MB),
      // which is not a leak: a leak adds its share every time. So the third flood is held to the higher of the first
      // two; the room still catches a leak of about 35 KB per connection per flood, and the peak bound above holds
      // whatever the collector does.
      const earlier = Math.max(peaks[0], peaks[1]);
      assert.ok(peaks[2] <= earlier + Math.max(96 << 20, (earlier - baseline) * 0.6), `peaks ${peaks.map(mb)}`);
      // Bun gives the memory back to the system. V8 under Deno and Node 20 keeps the heap pages it grew (Deno runs
      // no V8 memory reducer), to be reused, as the second flood shows: there the figure is printed, not asserted.
      if (runtimeName() === "bun") {
        assert.ok(near(), `RSS after the flood ${mb(after)}; baseline ${mb(baseline)}, peak ${mb(peak)}`);
      }
    } finally {
      server.kill("SIGKILL");
      await server.exited;
      await echo.close();
    }
  });
});
