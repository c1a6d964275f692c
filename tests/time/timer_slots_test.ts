/**
 * Slotted timers: a server's long timeouts share one runtime timer per slot. They fire no earlier than asked and at
 * most one slot later; cancelled ones never fire; the shared deadline signal is one per slot and linked signal.
 * These wait about a second each: a slotted timer is at least SLOTTED_FROM_MS long.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import { afterSlotted, SLOT_MS, SLOTTED_FROM_MS, slottedDeadline } from "../../lib/time/timer_slots.ts";
import { afterTimeout } from "../../lib/time/deadline.ts";
import { connectAny } from "../../lib/net/connect_any.ts";
import { MemoryNetwork } from "../../lib/net/memory_network.ts";
import { trackTimers } from "../helpers/timers.ts";

/** Keeps the process alive meanwhile: slotted timers do not (in a server, the connection they guard does). */
async function guarded<T>(work: Promise<T>): Promise<T> {
  const keepAlive = setInterval(() => {}, 1000);
  try {
    return await work;
  } finally {
    clearInterval(keepAlive);
  }
}

describe("afterSlotted", () => {
  it("fires once, no earlier than asked and at most one slot later", async () => {
    const started = performance.now();
    let calls = 0;
    const elapsed = await guarded(
      new Promise<number>((resolve) => {
        afterSlotted(SLOTTED_FROM_MS, () => {
          calls++;
          resolve(performance.now() - started);
        });
      }),
    );
    assert.ok(elapsed >= SLOTTED_FROM_MS - 1, `fired after ${elapsed} ms`);
    // Timers are late on a busy machine anyway: the slot adds at most SLOT_MS to that.
    assert.ok(elapsed < SLOTTED_FROM_MS + SLOT_MS + 500, `fired after ${elapsed} ms`);
    await guarded(new Promise((resolve) => setTimeout(resolve, SLOT_MS * 2)));
    assert.equal(calls, 1);
  });

  it("a cancelled timer never fires, and its slot's others still do", async () => {
    const fired: string[] = [];
    const cancel = afterSlotted(SLOTTED_FROM_MS, () => fired.push("cancelled"));
    const kept = new Promise<void>((resolve) =>
      afterSlotted(SLOTTED_FROM_MS, () => {
        fired.push("kept");
        resolve();
      })
    );
    cancel();
    cancel();
    await guarded(kept);
    await guarded(new Promise((resolve) => setTimeout(resolve, SLOT_MS * 2)));
    assert.deepEqual(fired, ["kept"]);
  });

  it("the same function scheduled twice is called twice; timers of different slots fire in order", async () => {
    const fired: string[] = [];
    const twice = () => fired.push("twice");
    afterSlotted(SLOTTED_FROM_MS, twice);
    afterSlotted(SLOTTED_FROM_MS, twice);
    const done = new Promise<void>((resolve) =>
      afterSlotted(SLOTTED_FROM_MS + 3 * SLOT_MS, () => {
        fired.push("later");
        resolve();
      })
    );
    await guarded(done);
    assert.deepEqual(fired, ["twice", "twice", "later"]);
  });

  it("0 or less is never", async () => {
    afterSlotted(0, () => assert.fail("0 is never"));
    afterSlotted(-5, () => assert.fail("less than 0 is never"));
    await guarded(new Promise((resolve) => setTimeout(resolve, 30)));
  });

  it("afterTimeout slots long timeouts and keeps short ones exact", async () => {
    const order: string[] = [];
    afterTimeout(5, () => order.push("5 ms"));
    const long = new Promise<void>((resolve) => afterTimeout(SLOTTED_FROM_MS, () => resolve()));
    await guarded(new Promise((resolve) => setTimeout(resolve, 40)));
    assert.deepEqual(order, ["5 ms"]);
    await guarded(long);
  });
});

/**
 * Waits until the clock is early in a slot (a slot's first half), so that calls made at once fall in the same slot:
 * calls on both sides of a slot's end get different slots by design, and a slow first call (Bun takes a few ms) can
 * straddle one.
 */
async function earlyInSlot(): Promise<void> {
  while (Date.now() % SLOT_MS === 0 || Date.now() % SLOT_MS > SLOT_MS / 2) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe("slottedDeadline", () => {
  it("is shared by calls in the same slot with the same linked signal, not with another signal", async () => {
    await earlyInSlot();
    const server = new AbortController();
    const other = new AbortController();
    const a = slottedDeadline(60_000, server.signal);
    const b = slottedDeadline(60_000, server.signal);
    const c = slottedDeadline(60_000, other.signal);
    try {
      assert.equal(b.signal, a.signal);
      assert.notEqual(c.signal, a.signal);
    } finally {
      // A failure here must not leave the slots armed for the next test.
      for (const deadline of [a, b, c]) deadline.clear();
    }
  });

  it("a call a slot later gets a deadline of its own, and each ends in its slot", async () => {
    const server = new AbortController();
    const ended = (signal: AbortSignal) =>
      new Promise<number>((resolve) => signal.addEventListener("abort", () => resolve(Date.now())));
    const a = slottedDeadline(SLOTTED_FROM_MS, server.signal);
    const aEnded = ended(a.signal);
    await guarded(new Promise((resolve) => setTimeout(resolve, SLOT_MS + 5)));
    const b = slottedDeadline(SLOTTED_FROM_MS, server.signal);
    assert.notEqual(b.signal, a.signal);
    const [aAt, bAt] = await guarded(Promise.all([aEnded, ended(b.signal)]));
    assert.ok(aAt <= bAt, `the earlier slot ended first (${aAt}, ${bAt})`);
    assert.equal((a.signal.reason as DOMException).name, "TimeoutError");
    assert.equal((b.signal.reason as DOMException).name, "TimeoutError");
    a.clear();
    b.clear();
  });

  it("takes any number of listeners without a leak warning (every connect of the slot listens at once)", async () => {
    const server = new AbortController();
    const deadline = slottedDeadline(60_000, server.signal);
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    const listeners = Array.from({ length: 50 }, () => () => {});
    for (const listener of listeners) deadline.signal.addEventListener("abort", listener);
    // Node emits its leak warning on a later tick.
    await guarded(new Promise((resolve) => setTimeout(resolve, 20)));
    for (const listener of listeners) deadline.signal.removeEventListener("abort", listener);
    process.off("warning", onWarning);
    deadline.clear();
    assert.deepEqual(warnings.filter((w) => /MaxListeners/.test(w)), []);
  });

  it("aborts with a TimeoutError naming the time once its slot ends", async () => {
    const server = new AbortController();
    const { signal, clear } = slottedDeadline(SLOTTED_FROM_MS, server.signal);
    const reason = await guarded(
      new Promise<unknown>((resolve) => signal.addEventListener("abort", () => resolve(signal.reason))),
    );
    assert.ok(reason instanceof DOMException);
    assert.equal(reason.name, "TimeoutError");
    assert.match(reason.message, new RegExp(`${SLOTTED_FROM_MS} ms`));
    assert.equal(server.signal.aborted, false, "the linked signal is not touched");
    clear();
    // A later call gets a fresh signal, not the aborted one.
    const later = slottedDeadline(SLOTTED_FROM_MS, server.signal);
    assert.equal(later.signal.aborted, false);
    later.clear();
  });

  it("aborts with the linked signal's reason when that comes first; an aborted one is passed back", () => {
    const server = new AbortController();
    const { signal, clear } = slottedDeadline(60_000, server.signal);
    server.abort("server stopped");
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, "server stopped");
    clear();
    assert.equal(slottedDeadline(60_000, server.signal).signal, server.signal);
  });

  it("once every user of a slot is done, its timer goes: nothing stays pending", async () => {
    await earlyInSlot();
    const timers = trackTimers();
    try {
      const server = new AbortController();
      const a = slottedDeadline(60_000, server.signal);
      const b = slottedDeadline(60_000, server.signal);
      assert.equal(timers.live(), 1, "one runtime timer for the slot");
      a.clear();
      a.clear();
      assert.equal(b.signal.aborted, false);
      b.clear();
      const cancel = afterSlotted(60_000, () => assert.fail("cancelled"));
      cancel();
      // With no slotted timer left, nothing keeps the process alive or fires later.
      const fresh = slottedDeadline(60_000, server.signal);
      assert.notEqual(fresh.signal, a.signal, "a dropped slot is made anew");
      fresh.clear();
      assert.equal(timers.live(), 0, "a timer is still pending");
    } finally {
      timers.stop();
    }
  });
});

describe("connectAny with a shared deadline", () => {
  it("connects as before, and once the server stopped a connect is refused at once", async () => {
    const network = new MemoryNetwork();
    const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, (connection) => connection.close());
    const server = new AbortController();
    const connection = await connectAny(network, ["127.0.0.1"], listener.address.port, 60_000, server.signal, true);
    connection.close();
    server.abort(new Error("server stopped"));
    await assert.rejects(
      connectAny(network, ["127.0.0.1"], listener.address.port, 60_000, server.signal, true),
      /server stopped|aborted/,
    );
    await listener.close();
  });
});
