/**
 * The relay on the in-memory Network: half-close each way, backpressure, idle timeout, abort, errors and byte
 * counts, with no socket and no wait on the kernel. (tests/server/relay_test.ts covers it on real sockets.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ByteReader } from "../lib/io/byte_reader.ts";
import { MemoryNetwork } from "../lib/net/memory_network.ts";
import type { Connection } from "../lib/net/network.ts";
import { relay, type RelayOptions, type RelayResult } from "../lib/relay.ts";
import { SocksError } from "../lib/wire/socks_error.ts";
import { readAll } from "./helpers/bytes.ts";
import { payload, sameBytes } from "./helpers/targets.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Lets every queued promise job run; the memory network uses no timer, so after this it is quiet. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * user <-> [relay end a] relay [relay end b] <-> target, each side a memory connection. Returns the far ends the
 * test drives and the relay's running promise.
 */
async function relayed(options: RelayOptions = {}, bufferSize?: number) {
  const network = new MemoryNetwork({ bufferSize });
  const accepted: Connection[] = [];
  const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, (c) => accepted.push(c));
  const user = await network.connect(listener.address);
  const target = await network.connect(listener.address);
  await settle();
  const [a, b] = accepted;
  await listener.close();
  const running: Promise<RelayResult> = relay(a, b, options);
  return { user, target, running };
}

describe("relay on the memory network", () => {
  it("moves bytes both ways, counts them (leftover included), and ends 'done' after both FINs", async () => {
    const network = new MemoryNetwork();
    const accepted: Connection[] = [];
    const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, (c) => accepted.push(c));
    const user = await network.connect(listener.address);
    const target = await network.connect(listener.address);
    await settle();
    await listener.close();
    // The user sent "hello world" and the handshake code read all of it: "world" is left over.
    const userWriter = user.writable.getWriter();
    await userWriter.write(text("hello world"));
    const handshake = new ByteReader(accepted[0].readable);
    assert.equal(decode(await handshake.readExactly(6)), "hello ");
    const { leftover, reader } = handshake.detach();
    const end = accepted[0];
    const running = relay(
      { readable: end.readable, writable: end.writable, close: () => end.close(), leftover, reader },
      accepted[1],
    );

    const targetWriter = target.writable.getWriter();
    await targetWriter.write(text("answer"));
    await targetWriter.close();
    await userWriter.write(text("!"));
    await userWriter.close();
    assert.equal(decode(await readAll(target.readable)), "world!");
    assert.equal(decode(await readAll(user.readable)), "answer");
    const result = await running;
    assert.deepEqual(result, { aToB: 6, bToA: 6, outcome: "done" });
    user.close();
    target.close();
  });

  it("half-close from the user: the target sees the end and can still answer at length", async () => {
    const { user, target, running } = await relayed();
    const userWriter = user.writable.getWriter();
    await userWriter.write(text("GET /"));
    await userWriter.close();
    assert.equal(decode(await readAll(target.readable)), "GET /");
    const answer = payload(1 << 20, 11);
    const writing = (async () => {
      const w = target.writable.getWriter();
      await w.write(answer);
      await w.close();
    })();
    const got = await readAll(user.readable);
    await writing;
    assert.ok(sameBytes(got, answer));
    const result = await running;
    assert.equal(result.outcome, "done");
    assert.equal(result.aToB, 5);
    assert.equal(result.bToA, answer.length);
  });

  it("half-close from the target: the user sees the end and can still upload at length", async () => {
    const { user, target, running } = await relayed();
    const targetWriter = target.writable.getWriter();
    await targetWriter.write(text("220 ready"));
    await targetWriter.close();
    assert.equal(decode(await readAll(user.readable)), "220 ready");
    const upload = payload(1 << 20, 12);
    const [got] = await Promise.all([
      readAll(target.readable),
      (async () => {
        const w = user.writable.getWriter();
        await w.write(upload);
        await w.close();
      })(),
    ]);
    assert.ok(sameBytes(got, upload));
    const result = await running;
    assert.deepEqual(result, { aToB: upload.length, bToA: 9, outcome: "done" });
  });

  it("backpressure: a target that does not read holds the user's writes back; then every byte arrives", async () => {
    const window = 64 * 1024;
    const { user, target, running } = await relayed({ maxChunkSize: window }, window);
    const chunk = payload(16 * 1024, 13);
    const total = 4 << 20;
    let written = 0;
    const writing = (async () => {
      const writer = user.writable.getWriter();
      while (written < total) {
        await writer.write(chunk);
        written += chunk.length;
      }
      await writer.close();
    })();
    // Nothing here waits on a timer, so once a few turns pass with no progress, the writer is stalled for good.
    let last = -1;
    for (let quiet = 0; quiet < 3; quiet = written === last ? quiet + 1 : 0) {
      last = written;
      await settle();
    }
    // In flight: the user's pipe, one relay buffer, the target's pipe (each one window), and the write in progress.
    assert.ok(written >= window, `the writer got only ${written} bytes out`);
    assert.ok(written <= 3 * window + chunk.length, `${written} bytes in flight with nobody reading`);
    let received = 0;
    for await (const part of target.readable) {
      for (let i = 0; i < part.length; i++) {
        if (part[i] !== chunk[(received + i) % chunk.length]) assert.fail(`byte ${received + i} differs`);
      }
      received += part.length;
    }
    await writing;
    assert.equal(received, total);
    await target.writable.getWriter().close();
    const result = await running;
    assert.equal(result.aToB, total);
    assert.equal(result.outcome, "done");
  });

  it("grows its read buffer from initialChunkSize up to maxChunkSize without losing a byte", async () => {
    const { user, target, running } = await relayed({ initialChunkSize: 7, maxChunkSize: 1000 });
    const data = payload(200_000, 14);
    const [got] = await Promise.all([
      readAll(target.readable),
      (async () => {
        const w = user.writable.getWriter();
        await w.write(data);
        await w.close();
      })(),
    ]);
    assert.ok(sameBytes(got, data));
    await target.writable.getWriter().close();
    assert.equal((await running).aToB, data.length);
  });

  it("idle timeout: with no byte either way it closes both ends and says so", async () => {
    const { user, target, running } = await relayed({ idleTimeoutMs: 20 });
    const userWriter = user.writable.getWriter();
    await userWriter.write(text("x"));
    const result = await running;
    assert.equal(result.outcome, "idle-timeout");
    assert.equal(result.aToB, 1);
    // Both far ends see their connection go: the relay closed its ends.
    await assert.rejects(target.writable.getWriter().write(text("late")), { code: "closed" });
    await assert.rejects(userWriter.write(text("late")), { code: "closed" });
  });

  it("abort: the signal closes both ends mid-transfer; an aborted signal stops it at once", async () => {
    const controller = new AbortController();
    const { user, target, running } = await relayed({ signal: controller.signal });
    const w = user.writable.getWriter();
    await w.write(text("part"));
    const reader = target.readable.getReader();
    assert.equal(decode((await reader.read()).value!), "part");
    controller.abort();
    const result = await running;
    assert.deepEqual(result, { aToB: 4, bToA: 0, outcome: "aborted" });
    await assert.rejects(w.write(text("more")), { code: "closed" });
    // The relay had read everything the target sent, so its close is a clean FIN.
    assert.equal((await reader.read()).done, true);

    const early = await relayed({ signal: AbortSignal.abort() });
    assert.equal((await early.running).outcome, "aborted");
    await assert.rejects(early.user.writable.getWriter().write(text("x")), { code: "closed" });
  });

  it("an error in one direction (a reset) closes both and reports the first error", async () => {
    const { user, target, running } = await relayed();
    const userWriter = user.writable.getWriter();
    await userWriter.write(text("up"));
    // The target resets with bytes it never read: its side of the relay fails.
    await target.writable.getWriter().write(text("x"));
    await settle();
    target.close();
    const result = await running;
    assert.equal(result.outcome, "error");
    assert.ok(result.error instanceof SocksError);
    assert.equal(result.error.code, "reset");
    // The reset is passed on: the user's side is reset too, not closed with a FIN.
    await assert.rejects(userWriter.write(text("late")), { code: "reset" });
  });

  it("takes a default (non-byte) stream too", async () => {
    const sink: number[] = [];
    const a = {
      readable: ReadableStream.from([text("ab"), text("c")]),
      writable: new WritableStream<Uint8Array>(),
      close() {},
    };
    const b = {
      readable: ReadableStream.from<Uint8Array>([]),
      writable: new WritableStream<Uint8Array>({ write: (c) => void sink.push(...c) }),
      close() {},
    };
    const result = await relay(a, b);
    assert.deepEqual(result, { aToB: 3, bToA: 0, outcome: "done" });
    assert.equal(decode(new Uint8Array(sink)), "abc");
  });
});
