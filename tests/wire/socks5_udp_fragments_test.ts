import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HostPort } from "../../lib/wire/address.ts";
import { fragmentSocks5UdpDatagram, MAX_UDP_PAYLOAD, UdpReassemblyQueue } from "../../lib/wire/socks5_udp_fragments.ts";

const to: HostPort = { address: { type: "ipv4", host: "10.0.0.1" }, port: 53 };
const other: HostPort = { address: { type: "ipv4", host: "10.0.0.2" }, port: 53 };
const bytes = (...values: number[]) => new Uint8Array(values);

describe("RFC 1928 fragmentation", () => {
  it("splits into positions 1..n with the high bit on the last, and keeps small payloads standalone", () => {
    const data = Uint8Array.from({ length: 10 }, (_, i) => i);
    const parts = fragmentSocks5UdpDatagram(to, data, 4);
    assert.deepEqual(parts.map((p) => p.fragment), [1, 2, 0x83]);
    assert.deepEqual(parts.flatMap((p) => [...p.data]), [...data]);
    assert.deepEqual(fragmentSocks5UdpDatagram(to, data, 10).map((p) => p.fragment), [0]);
    assert.throws(() => fragmentSocks5UdpDatagram(to, new Uint8Array(128), 1), { code: "too-long" });
    assert.throws(() => fragmentSocks5UdpDatagram(to, data, 0), { code: "bad-field" });
  });
  it("round-trips through the queue for every piece size", () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    for (const size of [3, 50, 299]) {
      const queue = new UdpReassemblyQueue();
      const outcomes = fragmentSocks5UdpDatagram(to, data, size).map((p, i) => queue.push(p, i));
      const last = outcomes.at(-1)!;
      assert.equal(last.kind, "complete");
      if (last.kind === "complete") assert.deepEqual([...last.data], [...data]);
      assert.ok(outcomes.slice(0, -1).every((o) => o.kind === "held"));
      assert.equal(queue.bytesHeld, 0);
    }
  });
});

describe("UdpReassemblyQueue", () => {
  it("passes standalone datagrams through without touching a sequence in progress", () => {
    const queue = new UdpReassemblyQueue();
    assert.equal(queue.push({ fragment: 1, destination: to, data: bytes(1) }, 0).kind, "held");
    const alone = queue.push({ fragment: 0, destination: other, data: bytes(9) }, 1);
    assert.equal(alone.kind, "complete");
    const done = queue.push({ fragment: 0x82, destination: to, data: bytes(2) }, 2);
    assert.equal(done.kind, "complete");
    if (done.kind === "complete") assert.deepEqual([...done.data], [1, 2]);
  });
  it("abandons the sequence when a lower FRAG than the highest seen arrives (RFC 1928 section 7)", () => {
    const queue = new UdpReassemblyQueue();
    assert.equal(queue.push({ fragment: 2, destination: to, data: bytes(2) }, 0).kind, "held");
    // 1 after 2: the 2 is given up, and 1 starts a new sequence.
    const lower = queue.push({ fragment: 1, destination: to, data: bytes(1) }, 1);
    assert.deepEqual(lower, { kind: "held", abandoned: 1 });
    // The 2 is gone, so a last fragment 3 finds position 2 missing: nothing whole comes out.
    const last = queue.push({ fragment: 0x83, destination: to, data: bytes(3) }, 2);
    assert.equal(last.kind, "dropped");
    assert.equal(last.abandoned, 1);
    assert.equal(queue.fragmentsHeld, 0);
    // The order the RFC allows: ascending, here with a fresh sequence.
    queue.push({ fragment: 1, destination: to, data: bytes(1) }, 3);
    queue.push({ fragment: 2, destination: to, data: bytes(2) }, 3);
    const whole = queue.push({ fragment: 0x83, destination: to, data: bytes(3) }, 3);
    assert.equal(whole.kind, "complete");
    if (whole.kind === "complete") assert.deepEqual([...whole.data], [1, 2, 3]);
  });
  it("drops a repeated position and a fragment of another destination starts over", () => {
    const queue = new UdpReassemblyQueue();
    queue.push({ fragment: 1, destination: to, data: bytes(1) }, 0);
    assert.equal(queue.push({ fragment: 1, destination: to, data: bytes(1) }, 0).kind, "dropped");
    const moved = queue.push({ fragment: 2, destination: other, data: bytes(2) }, 0);
    assert.deepEqual(moved, { kind: "held", abandoned: 1 });
  });
  it("abandons a sequence whose reassembly timer ran out, and refuses a timer under 5 s", () => {
    assert.throws(() => new UdpReassemblyQueue({ timeoutMs: 4_999 }), { code: "bad-field" });
    const queue = new UdpReassemblyQueue({ timeoutMs: 5_000 });
    queue.push({ fragment: 1, destination: to, data: bytes(1) }, 1_000);
    assert.equal(queue.expire(5_999), 0);
    const late = queue.push({ fragment: 0x82, destination: to, data: bytes(2) }, 6_000);
    assert.equal(late.kind, "dropped");
    assert.equal(late.abandoned, 1);
    assert.equal(queue.bytesHeld, 0);
  });
  it("holds no more than its limit under a flood of unfinished sequences", () => {
    const queue = new UdpReassemblyQueue({ maxBytes: MAX_UDP_PAYLOAD });
    const chunk = new Uint8Array(1400);
    let most = 0;
    let complete = 0;
    // 50 sequences of 60 fragments that never end: each grows past the limit, then the next starts at 1 again.
    for (let n = 0; n < 50; n++) {
      for (let position = 1; position <= 60; position++) {
        const outcome = queue.push({ fragment: position, destination: to, data: chunk }, n);
        if (outcome.kind === "complete") complete++;
        most = Math.max(most, queue.bytesHeld);
      }
    }
    assert.equal(complete, 0);
    assert.ok(most <= MAX_UDP_PAYLOAD, `held ${most} bytes`);
    assert.ok(most > MAX_UDP_PAYLOAD - chunk.length, `the flood never neared the limit (${most})`);
  });
});
