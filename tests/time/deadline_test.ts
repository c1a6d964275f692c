/**
 * Deadlines: a signal that aborts after a time or with a linked signal, and stops both once cleared. The order of
 * timers decides these tests, never their duration.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startDeadline } from "../../lib/time/deadline.ts";

const aborted = (signal: AbortSignal) =>
  new Promise<unknown>((resolve) => signal.addEventListener("abort", () => resolve(signal.reason), { once: true }));
/** Resolves after `ms`: a timer set later than the deadline's, so it fires after it. */
const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("startDeadline", () => {
  it("aborts with a TimeoutError when the time is up", async () => {
    const deadline = startDeadline(5);
    const reason = await aborted(deadline.signal);
    assert.ok(reason instanceof DOMException);
    assert.equal(reason.name, "TimeoutError");
    assert.match(reason.message, /5 ms/);
    deadline.clear();
  });

  it("once cleared, the time passing does not abort it", async () => {
    const deadline = startDeadline(5);
    deadline.clear();
    await after(20);
    assert.equal(deadline.signal.aborted, false);
  });

  it("aborts with a linked signal's reason, first one wins; the timer is then stopped", async () => {
    const one = new AbortController();
    const two = new AbortController();
    const deadline = startDeadline(10, undefined, one.signal, two.signal);
    two.abort("second");
    one.abort("first");
    assert.equal(deadline.signal.aborted, true);
    assert.equal(deadline.signal.reason, "second");
    await after(25);
    assert.equal(deadline.signal.reason, "second", "the timeout does not replace the reason");
  });

  it("an already aborted linked signal aborts it at once", () => {
    const deadline = startDeadline(60_000, AbortSignal.abort("gone"));
    assert.equal(deadline.signal.aborted, true);
    assert.equal(deadline.signal.reason, "gone");
    deadline.clear();
  });

  it("once cleared, a linked signal no longer reaches it", () => {
    const linked = new AbortController();
    const deadline = startDeadline(60_000, linked.signal);
    deadline.clear();
    linked.abort("late");
    assert.equal(deadline.signal.aborted, false);
  });

  it("clear() is safe to call again, after an abort too", async () => {
    const deadline = startDeadline(1);
    await aborted(deadline.signal);
    deadline.clear();
    deadline.clear();
    assert.equal(deadline.signal.aborted, true);
  });

  it("0 means no time limit: no timer fires, and only a linked signal ends it", async () => {
    const linked = new AbortController();
    const deadline = startDeadline(0, linked.signal);
    // Long enough for a 0 ms or 1 ms timer (what setTimeout makes of 0 or of an overflow) to have fired.
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(deadline.signal.aborted, false);
    linked.abort("stop");
    assert.equal(deadline.signal.reason, "stop");
    deadline.clear();
  });
});
