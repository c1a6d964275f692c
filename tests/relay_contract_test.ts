/**
 * The relay contract on real sockets of the running runtime's adapter, run twice: through the WHATWG streams
 * (`native: false`) and through the adapter's native fast path (lib/net/native_relay.ts), which each case checks was
 * taken. Half-close both ways, byte counts with leftover, backpressure, idle timeout, abort, and a reset passed on.
 * (tests/relay_unit_test.ts covers the streams relay on the in-memory network, where timing is exact.)
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { ByteReader } from "../lib/io/byte_reader.ts";
import type { NativeSocket } from "../lib/net/native_relay.ts";
import type { Connection } from "../lib/net/network.ts";
import { relay, type RelayEnd, type RelayOptions, type RelayResult } from "../lib/relay.ts";
import { runtimeName } from "../lib/runtime/detect.ts";
import { SocksError } from "../lib/wire/socks_error.ts";
import { readAll } from "./helpers/bytes.ts";
import { network, sleep } from "./helpers/net.ts";
import { payload, sameBytes } from "./helpers/targets.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * Connects user and target to one listener; returns them and the two accepted ends, user's first. The target is
 * opened by `connectTarget` when given (a node:net socket for the reset case: Deno's own cannot send a reset).
 */
async function pairs<T = Connection>(
  connectTarget?: (port: number) => T,
): Promise<{ user: Connection; target: T; a: Connection; b: Connection }> {
  const accepted: Connection[] = [];
  let arrived!: () => void;
  const both = new Promise<void>((resolve) => (arrived = resolve));
  const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, (c) => {
    accepted.push(c);
    if (accepted.length === 2) arrived();
  });
  const user = await network.connect(listener.address);
  // The first accepted connection must be the user's: connect the target only once it is in.
  while (accepted.length < 1) await sleep(1);
  const target = connectTarget ? connectTarget(listener.address.port) : await network.connect(listener.address) as T;
  await both;
  await listener.close();
  return { user, target, a: accepted[0], b: accepted[1] };
}

for (const mode of ["streams", "native"] as const) {
  /** Starts the relay in this suite's mode, and checks that the native path was taken exactly when asked for. */
  const start = (a: RelayEnd, b: RelayEnd, options: RelayOptions = {}): Promise<RelayResult> => {
    let used = false;
    const spy: NativeSocket | undefined = a.native && {
      relayWith: (other, nativeOptions) => {
        const running = a.native!.relayWith(other, nativeOptions);
        used = running !== undefined;
        return running;
      },
    };
    // Named one by one: the adapters' Connections keep their members on a prototype, which a spread leaves out.
    const end: RelayEnd = {
      readable: a.readable,
      writable: a.writable,
      leftover: a.leftover,
      reader: a.reader,
      writer: a.writer,
      close: () => a.close(),
      reset: a.reset && (() => a.reset!()),
      native: spy,
    };
    const running = relay(end, b, { ...options, native: mode === "native" });
    assert.equal(used, mode === "native", `the ${mode} path was taken (${runtimeName()} adapter)`);
    return running;
  };

  /** user <-> [a] relay [b] <-> target. */
  const relayed = async (options: RelayOptions = {}) => {
    const { user, target, a, b } = await pairs();
    return { user, target, running: start(a, b, options) };
  };

  describe(`relay contract, ${mode} path, ${runtimeName()} sockets`, () => {
    it("moves bytes both ways, counts them (leftover included), and ends 'done' after both FINs", async () => {
      const { user, target, a, b } = await pairs();
      const userWriter = user.writable.getWriter();
      await userWriter.write(text("hello world"));
      const handshake = new ByteReader(a.readable);
      assert.equal(decode(await handshake.readExactly(6)), "hello ");
      const { leftover, reader } = handshake.detach();
      const { readable, writable, native } = a;
      const running = start({ readable, writable, close: () => a.close(), leftover, reader, native }, b);
      const targetWriter = target.writable.getWriter();
      await targetWriter.write(text("answer"));
      await targetWriter.close();
      assert.equal(decode(await readAll(user.readable)), "answer");
      await userWriter.write(text("!"));
      await userWriter.close();
      assert.equal(decode(await readAll(target.readable)), "world!");
      assert.deepEqual(await running, { aToB: 6, bToA: 6, outcome: "done" });
      user.close();
      target.close();
    });

    it("half-close from the user: the target sees the end and can still answer at length", async () => {
      const { user, target, running } = await relayed();
      const userWriter = user.writable.getWriter();
      await userWriter.write(text("GET /"));
      await userWriter.close();
      assert.equal(decode(await readAll(target.readable)), "GET /");
      const answer = payload(8 << 20, 11);
      const writing = (async () => {
        const w = target.writable.getWriter();
        await w.write(answer);
        await w.close();
      })();
      const got = await readAll(user.readable);
      await writing;
      assert.ok(sameBytes(got, answer));
      assert.deepEqual(await running, { aToB: 5, bToA: answer.length, outcome: "done" });
      user.close();
      target.close();
    });

    it("half-close from the target: the user sees the end and can still upload at length", async () => {
      const { user, target, running } = await relayed();
      const targetWriter = target.writable.getWriter();
      await targetWriter.write(text("220 ready"));
      await targetWriter.close();
      assert.equal(decode(await readAll(user.readable)), "220 ready");
      const upload = payload(8 << 20, 12);
      const [got] = await Promise.all([
        readAll(target.readable),
        (async () => {
          const w = user.writable.getWriter();
          await w.write(upload);
          await w.close();
        })(),
      ]);
      assert.ok(sameBytes(got, upload));
      assert.deepEqual(await running, { aToB: upload.length, bToA: 9, outcome: "done" });
      user.close();
      target.close();
    });

    it("backpressure: a target that does not read stalls the user's writes; then every byte arrives", async () => {
      const { user, target, running } = await relayed();
      const chunk = payload(256 * 1024, 13);
      const total = 128 << 20;
      let written = 0;
      const writing = (async () => {
        const writer = user.writable.getWriter();
        while (written < total) {
          await writer.write(chunk);
          written += chunk.length;
        }
        await writer.close();
      })();
      // Wait until the writer makes no progress: the kernel's buffers and the relay's window are full.
      let last = -1;
      while (written !== last) {
        last = written;
        await sleep(200);
      }
      assert.ok(written < total, `all ${total} bytes went out with nobody reading`);
      let received = 0;
      for await (const part of target.readable) {
        for (let i = 0; i < part.length; i += 4093) {
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
      user.close();
      target.close();
    });

    it("idle timeout: with no byte either way it closes both ends and says so", async () => {
      const { user, target, running } = await relayed({ idleTimeoutMs: 50 });
      await user.writable.getWriter().write(text("x"));
      const result = await running;
      assert.equal(result.outcome, "idle-timeout");
      assert.equal(result.aToB, 1);
      // Both far ends see their connection end.
      assert.equal(decode(await readAll(target.readable)), "x");
      assert.equal((await readAll(user.readable)).length, 0);
      user.close();
      target.close();
    });

    it("abort: the signal closes both ends mid-transfer; an aborted signal stops it at once", async () => {
      const controller = new AbortController();
      const { user, target, running } = await relayed({ signal: controller.signal });
      await user.writable.getWriter().write(text("part"));
      const reader = target.readable.getReader();
      assert.equal(decode((await reader.read()).value!), "part");
      controller.abort();
      assert.deepEqual(await running, { aToB: 4, bToA: 0, outcome: "aborted" });
      assert.equal((await reader.read()).done, true);
      assert.equal((await readAll(user.readable)).length, 0);
      user.close();
      target.close();

      const early = await relayed({ signal: AbortSignal.abort() });
      assert.equal((await early.running).outcome, "aborted");
      assert.equal((await readAll(early.user.readable)).length, 0);
      early.user.close();
      early.target.close();
    });

    it("a reset by the target ends the relay with a reset error and reaches the user as a reset", async () => {
      const { user, target, a, b } = await pairs((port) => net.connect({ host: "127.0.0.1", port }));
      const arrived = new Promise((resolve) => target.once("data", resolve));
      const running = start(a, b);
      await user.writable.getWriter().write(text("up"));
      await arrived;
      target.resetAndDestroy();
      const result = await running;
      assert.equal(result.outcome, "error");
      assert.ok(result.error instanceof SocksError);
      assert.equal(result.error.code, "reset");
      if (runtimeName() === "deno") {
        // Deno cannot send a reset (no SO_LINGER): its relay passes a reset on as a close.
        assert.equal((await readAll(user.readable)).length, 0);
      } else {
        await assert.rejects(readAll(user.readable), { code: "reset" });
      }
      user.close();
    });
  });
}
