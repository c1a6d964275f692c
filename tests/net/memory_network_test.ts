/**
 * What the in-memory Network adds to the adapter contract (tests/runtime/adapters_test.ts runs that on it too):
 * BYOB reads, the bound on unread bytes, resets, wildcard and taken addresses, another host's view, UDP, names.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryNetwork } from "../../lib/net/memory_network.ts";
import type { Connection, Datagram, Network } from "../../lib/net/network.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { readAll } from "../helpers/bytes.ts";
import { payload, sameBytes } from "../helpers/targets.ts";

/** A listener whose accepted connections arrive through `accept()`. */
async function listening(network: Network, hostname = "127.0.0.1", port = 0) {
  const arrived: Connection[] = [];
  const waiting: ((c: Connection) => void)[] = [];
  const listener = await network.listen({ hostname, port }, (c) => {
    const taker = waiting.shift();
    if (taker) taker(c);
    else arrived.push(c);
  });
  const accept = () =>
    arrived.length > 0 ? Promise.resolve(arrived.shift()!) : new Promise<Connection>((r) => waiting.push(r));
  return { listener, accept };
}

async function pair(network: Network, hostname = "127.0.0.1") {
  const { listener, accept } = await listening(network, hostname);
  const client = await network.connect(listener.address);
  const served = await accept();
  return { listener, client, served };
}

const isClosed = (error: unknown) => error instanceof SocksError && error.code === "closed";
const isReset = (error: unknown) => error instanceof SocksError && error.code === "reset";

/** Lets every queued promise job run (the network never uses a timer, so this is enough to settle it). */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe("MemoryNetwork connections", () => {
  it("reads are BYOB, with {min} honoured across several writes", async () => {
    const network = new MemoryNetwork();
    const { client, served } = await pair(network);
    const writer = client.writable.getWriter();
    const reader = served.readable.getReader({ mode: "byob" });
    const reading = reader.read(new Uint8Array(10), { min: 6 });
    await writer.write(new Uint8Array([1, 2, 3]));
    await writer.write(new Uint8Array([4, 5, 6, 7]));
    const { value } = await reading;
    assert.deepEqual([...value!], [1, 2, 3, 4, 5, 6, 7]);
    // A view smaller than a queued chunk takes part of it; the rest comes next.
    await writer.write(new Uint8Array([8, 9, 10]));
    assert.deepEqual([...(await reader.read(new Uint8Array(2))).value!], [8, 9]);
    assert.deepEqual([...(await reader.read(new Uint8Array(8))).value!], [10]);
    await writer.close();
    const end = await reader.read(new Uint8Array(4));
    assert.equal(end.done, true);
    client.close();
    served.close();
  });

  it("holds at most bufferSize unread bytes: the writer waits, then finishes once the reader reads", async () => {
    const network = new MemoryNetwork({ bufferSize: 1000 });
    const { client, served } = await pair(network);
    const writer = client.writable.getWriter();
    let finished = false;
    const data = payload(5000, 9);
    const writing = writer.write(data).then(() => (finished = true));
    await settle();
    assert.equal(finished, false, "a 5000-byte write fits a 1000-byte buffer only when read");
    // The reader sees at most the buffer's worth per read: the rest was never taken from the writer.
    const reader = served.readable.getReader({ mode: "byob" });
    const first = await reader.read(new Uint8Array(8000));
    assert.equal(first.value!.length, 1000);
    let got = first.value!.length;
    const parts = [first.value!];
    while (got < data.length) {
      const { value } = await reader.read(new Uint8Array(8000));
      assert.ok(value!.length <= 1000);
      parts.push(value!);
      got += value!.length;
    }
    await writing;
    assert.ok(sameBytes(new Uint8Array(parts.flatMap((p) => [...p])), data));
    client.close();
    served.close();
  });

  it("copies what it is given: the writer may reuse its buffer once the write resolves", async () => {
    const network = new MemoryNetwork();
    const { client, served } = await pair(network);
    const writer = client.writable.getWriter();
    const buffer = new Uint8Array([1, 2, 3]);
    await writer.write(buffer);
    buffer.fill(0);
    await writer.write(buffer);
    await writer.close();
    assert.deepEqual([...await readAll(served.readable)], [1, 2, 3, 0, 0, 0]);
    client.close();
    served.close();
  });

  it("close() with unread bytes resets: the peer's read and write fail, its queued bytes are lost", async () => {
    const network = new MemoryNetwork();
    const { client, served } = await pair(network);
    const writer = client.writable.getWriter();
    await writer.write(new Uint8Array(10));
    await served.writable.getWriter().write(new Uint8Array([7]));
    served.close();
    await assert.rejects(client.readable.getReader().read(), isReset);
    await assert.rejects(writer.write(new Uint8Array(1)), isReset);
    client.close();
  });

  it("close() with nothing unread is a FIN to the peer: it reads what was sent, then the end; its writes fail", async () => {
    const network = new MemoryNetwork();
    const { client, served } = await pair(network);
    await served.writable.getWriter().write(new Uint8Array([5, 6]));
    served.close();
    assert.deepEqual([...await readAll(client.readable)], [5, 6]);
    await assert.rejects(client.writable.getWriter().write(new Uint8Array(1)), isClosed);
    client.close();
  });

  it("closing the writable after the peer closed succeeds (TCP's shutdown does), after a reset it fails", async () => {
    const network = new MemoryNetwork();
    const clean = await pair(network);
    clean.served.close();
    await clean.client.writable.getWriter().close();
    const reset = await pair(network);
    const writer = reset.client.writable.getWriter();
    await writer.write(new Uint8Array(1));
    // The client's byte is unread: the served end's close is a reset.
    reset.served.close();
    await assert.rejects(writer.close(), isClosed);
    reset.client.close();
    clean.client.close();
  });

  it("a writer blocked on a full buffer fails with a reset when the reader closes with bytes unread", async () => {
    const network = new MemoryNetwork({ bufferSize: 16 });
    const { client, served } = await pair(network);
    const writing = client.writable.getWriter().write(new Uint8Array(100));
    await settle();
    served.close();
    await assert.rejects(writing, isReset);
    client.close();
  });

  it("a writer blocked on a full buffer fails when its own connection closes", async () => {
    const network = new MemoryNetwork({ bufferSize: 16 });
    const { client, served } = await pair(network);
    const writing = client.writable.getWriter().write(new Uint8Array(100));
    await settle();
    client.close();
    await assert.rejects(writing, isClosed);
    // What fitted went out before the close: the peer reads it, then the end.
    assert.equal((await readAll(served.readable)).length, 16);
    served.close();
  });

  it("unread bytes at close make a reset even after the peer's FIN", async () => {
    const network = new MemoryNetwork();
    const { client, served } = await pair(network);
    const writer = client.writable.getWriter();
    await writer.write(new Uint8Array(3));
    await writer.close();
    served.close();
    await assert.rejects(client.readable.getReader().read(), isReset);
    client.close();
  });

  it("reset() is a reset even with nothing unread: the peer's read fails with code reset", async () => {
    const network = new MemoryNetwork();
    const { client, served } = await pair(network);
    served.reset!();
    await assert.rejects(client.readable.getReader().read(), isReset);
    client.close();
  });

  it("cancelling the readable or aborting the writable closes the connection", async () => {
    const network = new MemoryNetwork();
    const one = await pair(network);
    await one.client.readable.cancel();
    assert.equal((await readAll(one.served.readable)).length, 0);
    await assert.rejects(one.served.writable.getWriter().write(new Uint8Array(1)), isClosed);
    const two = await pair(network);
    await two.client.writable.abort(new Error("gave up"));
    await assert.rejects(two.client.readable.getReader().read(), isClosed);
    one.served.close();
    two.served.close();
  });

  it("closing the writable after close() fails", async () => {
    const network = new MemoryNetwork();
    const { client, served } = await pair(network);
    client.close();
    await assert.rejects(client.writable.getWriter().close(), isClosed);
    served.close();
  });
});

describe("MemoryNetwork listeners", () => {
  it("port 0 picks distinct free ports; a taken address refuses a second listener, a wildcard clashes too", async () => {
    const network = new MemoryNetwork();
    const a = await network.listen({ hostname: "127.0.0.1", port: 0 }, () => {});
    const b = await network.listen({ hostname: "127.0.0.1", port: 0 }, () => {});
    assert.notEqual(a.address.port, b.address.port);
    assert.ok(a.address.port > 0 && b.address.port > 0);
    await assert.rejects(network.listen(a.address, () => {}), SocksError);
    await assert.rejects(network.listen({ hostname: "0.0.0.0", port: a.address.port }, () => {}), SocksError);
    // Another family or another address on the same port is free.
    const c = await network.listen({ hostname: "::1", port: a.address.port }, () => {});
    const d = await network.listen({ hostname: "127.0.0.2", port: a.address.port }, () => {});
    await Promise.all([a, b, c, d].map((l) => l.close()));
  });

  it("a wildcard listener takes every address of its family, and reports the one connected to", async () => {
    const network = new MemoryNetwork();
    const { listener, accept } = await listening(network, "::", 443);
    assert.deepEqual(listener.address, { hostname: "::", port: 443 });
    const client = await network.connect({ hostname: "2001:db8::5", port: 443 });
    const served = await accept();
    assert.deepEqual(served.localAddress, { hostname: "2001:db8::5", port: 443 });
    assert.deepEqual(served.remoteAddress, client.localAddress);
    await assert.rejects(network.connect({ hostname: "192.0.2.5", port: 443 }), { code: "connection-refused" });
    client.close();
    served.close();
    await listener.close();
  });

  it("an exact listener wins over a wildcard one on the same port", async () => {
    const network = new MemoryNetwork();
    const seen: string[] = [];
    const wild = await network.listen({ hostname: "0.0.0.0", port: 0 }, () => seen.push("wildcard"));
    await assert.rejects(network.listen({ hostname: "10.0.0.1", port: wild.address.port }, () => {}), SocksError);
    await wild.close();
    const exact = await network.listen({ hostname: "10.0.0.1", port: 8080 }, () => seen.push("exact"));
    const wild2 = await network.listen({ hostname: "::", port: 8080 }, () => seen.push("ipv6 wildcard"));
    (await network.connect({ hostname: "10.0.0.1", port: 8080 })).close();
    (await network.connect({ hostname: "::1", port: 8080 })).close();
    await settle();
    assert.deepEqual(seen, ["exact", "ipv6 wildcard"]);
    await exact.close();
    await wild2.close();
  });

  it("from(): connections come from another host's address; a family mismatch has no route", async () => {
    const network = new MemoryNetwork();
    const { listener, accept } = await listening(network, "0.0.0.0", 1080);
    const client = await network.from("198.51.100.4").connect({ hostname: "127.0.0.1", port: 1080 });
    const served = await accept();
    assert.equal(served.remoteAddress.hostname, "198.51.100.4");
    assert.equal(served.remoteAddress.port, client.localAddress.port);
    await assert.rejects(
      network.from("2001:db8::1").connect({ hostname: "127.0.0.1", port: 1080 }),
      { code: "network-unreachable" },
    );
    assert.throws(() => network.from("not-an-ip"), { code: "bad-address" });
    client.close();
    served.close();
    await listener.close();
  });

  it("connect to a name goes through the table; an unknown name fails as a DNS failure does", async () => {
    const network = new MemoryNetwork({ names: { "svc.test": "192.0.2.80" } });
    const { listener, accept } = await listening(network, "192.0.2.80", 80);
    const client = await network.connect({ hostname: "svc.test", port: 80 });
    const served = await accept();
    assert.equal(client.remoteAddress.hostname, "192.0.2.80");
    await assert.rejects(network.connect({ hostname: "nowhere.test", port: 80 }), { code: "host-unreachable" });
    client.close();
    served.close();
    await listener.close();
  });

  it("an aborted signal refuses to connect, also when it aborts during the attempt, with the adapters' codes", async () => {
    const network = new MemoryNetwork();
    const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, (c) => c.close());
    await assert.rejects(
      network.connect({ ...listener.address, signal: AbortSignal.abort() }),
      { code: "aborted" },
    );
    const timedOut = new AbortController();
    timedOut.abort(new DOMException("too slow", "TimeoutError"));
    await assert.rejects(network.connect({ ...listener.address, signal: timedOut.signal }), { code: "timeout" });
    // Aborted after the call, before it resolved: the attempt was still in progress, so the abort wins.
    const later = new AbortController();
    const pending = network.connect({ ...listener.address, signal: later.signal });
    later.abort();
    await assert.rejects(pending, { code: "aborted" });
    await listener.close();
  });
});

describe("MemoryNetwork UDP", () => {
  it("carries datagrams both ways, copied, in order, with the sender's address", async () => {
    const network = new MemoryNetwork();
    const gotA: Datagram[] = [];
    const gotB: Datagram[] = [];
    const a = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, (d) => gotA.push(d));
    const b = await network.bindUdp({ hostname: "127.0.0.1", port: 5353 }, (d) => gotB.push(d));
    assert.deepEqual(b.address, { hostname: "127.0.0.1", port: 5353 });
    const data = new Uint8Array([1, 2, 3]);
    await a.send(data, b.address);
    data[0] = 9;
    await a.send(data, b.address);
    await b.send(new Uint8Array([4]), a.address);
    await settle();
    assert.deepEqual(gotB.map((d) => [...d.data]), [[1, 2, 3], [9, 2, 3]]);
    assert.deepEqual(gotB[0].from, a.address);
    assert.deepEqual(gotA.map((d) => ({ data: [...d.data], from: d.from })), [{ data: [4], from: b.address }]);
    a.close();
    b.close();
  });

  it("drops datagrams to nobody and to a closed socket; a closed socket cannot send; too long is refused", async () => {
    const network = new MemoryNetwork();
    const got: Datagram[] = [];
    const a = await network.bindUdp({ hostname: "::1", port: 0 }, () => {});
    const b = await network.bindUdp({ hostname: "::1", port: 0 }, (d) => got.push(d));
    await a.send(new Uint8Array([1]), { hostname: "::1", port: 9 });
    const sending = a.send(new Uint8Array([2]), b.address);
    b.close();
    b.close();
    await sending;
    await settle();
    assert.equal(got.length, 0, "a datagram in flight when its socket closed is not delivered");
    await assert.rejects(b.send(new Uint8Array([3]), a.address), isClosed);
    await assert.rejects(a.send(new Uint8Array(65528), a.address), SocksError);
    await assert.rejects(a.send(new Uint8Array(1), { hostname: "127.0.0.1", port: 9 }), SocksError);
    // Its port is free again.
    const again = await network.bindUdp(b.address, () => {});
    again.close();
    a.close();
  });

  it("a wildcard socket receives for every address of its family and sends from the address it was sent to", async () => {
    const network = new MemoryNetwork();
    const got: Datagram[] = [];
    const server = await network.bindUdp({ hostname: "0.0.0.0", port: 0 }, (d) => got.push(d));
    const client = await network.from("203.0.113.1").bindUdp({ hostname: "0.0.0.0", port: 0 }, () => {});
    await client.send(new Uint8Array([1]), { hostname: "192.0.2.9", port: server.address.port });
    await settle();
    assert.deepEqual(got[0].from, { hostname: "203.0.113.1", port: client.address.port });
    await assert.rejects(network.bindUdp(server.address, () => {}), SocksError);
    server.close();
    client.close();
  });
});

describe("MemoryNetwork names", () => {
  const network = new MemoryNetwork({
    names: { "Example.TEST": ["192.0.2.1", "2001:db8::1"], "localhost": ["127.0.0.1", "::1"], "empty.test": [] },
  });

  it("resolves names case-insensitively, a trailing dot ignored, in table order; literals to themselves", async () => {
    assert.deepEqual(await network.resolve("example.test."), ["192.0.2.1", "2001:db8::1"]);
    assert.deepEqual(await network.resolve("LOCALHOST"), ["127.0.0.1", "::1"]);
    assert.deepEqual(await network.resolve("[::1]"), ["::1"]);
    assert.deepEqual(await network.resolve("10.1.2.3"), ["10.1.2.3"]);
  });

  it("an unknown name, or one with no address, fails with the adapters' DNS failure code", async () => {
    await assert.rejects(network.resolve("nowhere.test"), { code: "host-unreachable" });
    await assert.rejects(network.resolve("empty.test"), { code: "host-unreachable" });
  });

  it("reverse finds the first name holding an address, in any spelling of it", async () => {
    assert.equal(await network.reverse("2001:DB8:0::1"), "example.test");
    assert.equal(await network.reverse("::ffff:127.0.0.1"), "localhost");
    await assert.rejects(network.reverse("192.0.2.99"), { code: "host-unreachable" });
  });

  it("records every name looked up (not literals), so a test can check that none was", async () => {
    const fresh = new MemoryNetwork({ names: { "a.test": "192.0.2.1" } });
    await fresh.resolve("192.0.2.1");
    await fresh.resolve("a.test");
    await fresh.resolve("b.test").catch(() => {});
    assert.deepEqual(fresh.lookups, ["a.test", "b.test"]);
  });

  it("refuses a buffer size that is not a positive whole number", () => {
    assert.throws(() => new MemoryNetwork({ bufferSize: 0 }), { code: "bad-field" });
  });
});
