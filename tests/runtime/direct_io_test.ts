/**
 * The handshake's fast path on real sockets: every adapter of the running runtime whose Connections read and write
 * the socket themselves (Connection `read`, `readsInto`, `sink`; io/byte_source.ts, io/byte_sink.ts), held to their
 * contract. Direct reads get every byte, then undefined at the FIN; `readable`, made after some direct reads,
 * starts exactly where they stopped (nothing lost, nothing twice) and carries an end or a reset seen before it over;
 * a ByteReader over the connection hands its leftover and the rest over; the sink writes in order, half-closes, and
 * fails for good once the connection is closed; a read waiting on a connection closed here rejects; and a native
 * relay takes over two connections after a direct handshake, leftover included.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import type { NativeSocket } from "../../lib/net/native_relay.ts";
import type { Connection, Network } from "../../lib/net/network.ts";
import { connectionReader } from "../../lib/net/direct_io.ts";
import { relay, type RelayEnd } from "../../lib/relay.ts";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { concat, readAll } from "../helpers/bytes.ts";
import { payload } from "../helpers/targets.ts";
import { listenerOn, socketAdapters } from "../helpers/adapters.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Fails instead of hanging: `promise`, or an error naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when `a` and `b` hold the same bytes; says where they differ otherwise. */
function assertSame(got: Uint8Array, expected: Uint8Array, what: string): void {
  if (got.length !== expected.length) {
    let at = 0;
    while (at < got.length && at < expected.length && got[at] === expected[at]) at++;
    assert.fail(`${what}: ${got.length} bytes, expected ${expected.length} (first difference at byte ${at})`);
  }
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== expected[i]) assert.fail(`${what}: byte ${i} differs`);
  }
}

/** One direct read, into a fresh array of ours where the adapter reads into the caller's. */
function readDirect(connection: Connection): Promise<Uint8Array | undefined> {
  assert.ok(connection.read, "the connection reads directly");
  return connection.read(connection.readsInto ? new Uint8Array(16 * 1024) : undefined);
}

/** Direct reads until at least `count` bytes came (or the FIN); returns them joined. */
async function readDirectAtLeast(connection: Connection, count: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < count) {
    const chunk = await readDirect(connection);
    if (chunk === undefined) break;
    parts.push(chunk.slice());
    got += chunk.length;
  }
  return concat(...parts);
}

/** Direct reads to the FIN; returns everything joined. */
async function readDirectToEnd(connection: Connection): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const chunk = await readDirect(connection);
    if (chunk === undefined) return concat(...parts);
    parts.push(chunk.slice());
  }
}

/** Writes `parts` through the writable one by one, `pauseMs` apart, then closes (FIN) unless told not to. */
async function dripWrite(connection: Connection, parts: Uint8Array[], pauseMs: number, fin = true): Promise<void> {
  const writer = connection.writable.getWriter();
  for (const part of parts) {
    await writer.write(part);
    await sleep(pauseMs);
  }
  if (fin) await writer.close();
  writer.releaseLock();
}

/** `bytes` cut into `n` parts of about the same size. */
function split(bytes: Uint8Array, n: number): Uint8Array[] {
  const size = Math.ceil(bytes.length / n);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(bytes.slice(at, at + size));
  return parts;
}

/** A connected pair of `network`: the client's end and the accepted one. */
async function pair(network: Network): Promise<{ client: Connection; served: Connection; done(): Promise<void> }> {
  const { listener, accept } = await listenerOn(network);
  const client = await network.connect(listener.address);
  const served = await accept();
  return {
    client,
    served,
    done: async () => {
      client.close();
      served.close();
      await listener.close();
    },
  };
}

/** A node:net client (which can reset in every runtime) and the connection `network` accepted for it. */
async function nodePeer(network: Network): Promise<{ peer: net.Socket; served: Connection; done(): Promise<void> }> {
  const { listener, accept } = await listenerOn(network);
  const peer = net.connect({ host: "127.0.0.1", port: listener.address.port, allowHalfOpen: true });
  peer.on("error", () => {});
  await new Promise((resolve) => peer.once("connect", resolve));
  const served = await accept();
  return {
    peer,
    served,
    done: async () => {
      peer.destroy();
      served.close();
      await listener.close();
    },
  };
}

const isSocksError = (error: unknown) => error instanceof SocksError;

for (
  const [name, network]
    of await socketAdapters() /* every one reads its sockets directly; the in-memory one has streams only */
) {
  describe(`direct reads and writes, the ${name} adapter under ${runtimeName()}`, () => {
    it("has read, readsInto and sink on both the accepted and the connected end", async () => {
      const { client, served, done } = await pair(network);
      try {
        for (const connection of [client, served]) {
          assert.equal(typeof connection.read, "function");
          assert.equal(typeof connection.sink, "function");
          assert.equal(typeof connection.readsInto, "boolean");
          assert.equal(connection.readsInto, name === "deno");
        }
      } finally {
        await done();
      }
    });

    it("direct reads deliver every byte of a multi-chunk transfer, then undefined at the FIN (both ends)", async () => {
      const { client, served, done } = await pair(network);
      try {
        const up = payload(3 << 20, 21);
        const down = payload(1 << 20, 22);
        const [gotUp, gotDown] = await within(
          Promise.all([
            readDirectToEnd(served),
            readDirectToEnd(client),
            dripWrite(client, split(up, 24), 0),
            dripWrite(served, split(down, 7), 1),
          ]),
          20_000,
          "the transfer",
        );
        assertSame(gotUp, up, "client to server");
        assertSame(gotDown, down, "server to client");
        // The end stays an end.
        assert.equal(await within(readDirect(served), 2000, "a read after the FIN"), undefined);
      } finally {
        await done();
      }
    });

    it("a few direct reads, then readable yields exactly the rest of a dripped transfer", async () => {
      const { client, served, done } = await pair(network);
      try {
        const sent = payload(200_000, 23);
        const writing = dripWrite(client, split(sent, 10), 20);
        const head = await within(readDirectAtLeast(served, 30_000), 5000, "the direct reads");
        assert.ok(head.length >= 30_000 && head.length < sent.length, `${head.length} bytes read directly`);
        const rest = await within(readAll(served.readable), 10_000, "the stream");
        await writing;
        assertSame(concat(head, rest), sent, "direct reads then the stream");
        // Once the stream was made, direct reads are refused rather than stealing its bytes.
        await assert.rejects(Promise.resolve().then(() => readDirect(served)), isSocksError);
      } finally {
        await done();
      }
    });

    it("bytes that came while no direct read waited go to the stream first", async () => {
      const { client, served, done } = await pair(network);
      try {
        const writer = client.writable.getWriter();
        // Sent before anyone reads: an adapter fed by events keeps it.
        await writer.write(text("early,"));
        await sleep(50);
        const first = await within(readDirectAtLeast(served, 6), 5000, "the first direct read");
        assert.equal(decode(first), "early,");
        // Sent while no direct read waits, and before the stream exists.
        await writer.write(text("between,"));
        await sleep(50);
        await writer.write(text("late"));
        await sleep(50);
        await writer.close();
        assert.equal(decode(await within(readAll(served.readable), 5000, "the stream")), "between,late");
      } finally {
        await done();
      }
    });

    it("the peer's FIN arrived during direct reads: the stream yields the rest, then ends", async () => {
      const { client, served, done } = await pair(network);
      try {
        const sent = payload(2 << 20, 24);
        await dripWrite(client, split(sent, 8), 5);
        // Everything and the FIN are in this end's receive queue (or on their way) before the switch.
        await sleep(100);
        const head = await within(readDirectAtLeast(served, 1), 5000, "a direct read");
        assert.ok(head.length > 0 && head.length < sent.length, `${head.length} bytes in the first direct read`);
        const rest = await within(readAll(served.readable), 10_000, "the stream after the FIN");
        assertSame(concat(head, rest), sent, "direct read then the stream");
      } finally {
        await done();
      }
    });

    it("direct reads saw the FIN: the stream made afterwards ends at once, empty", async () => {
      const { client, served, done } = await pair(network);
      try {
        await dripWrite(client, [text("all"), text(" of it")], 10);
        assert.equal(decode(await within(readDirectToEnd(served), 5000, "direct reads to the FIN")), "all of it");
        assert.equal((await within(readAll(served.readable), 2000, "the stream after the FIN")).length, 0);
        // The other direction is still open: the half-closed peer reads what this end sends.
        const writer = served.writable.getWriter();
        await writer.write(text("still here"));
        await writer.close();
        assert.equal(decode(await within(readAll(client.readable), 5000, "the answer")), "still here");
      } finally {
        await done();
      }
    });

    it("the peer reset after some direct reads: the stream made afterwards errors with a SocksError", async () => {
      const { peer, served, done } = await nodePeer(network);
      try {
        peer.write(text("abc"));
        assert.equal(decode(await within(readDirectAtLeast(served, 3), 5000, "the direct read")), "abc");
        peer.resetAndDestroy();
        await sleep(100);
        await assert.rejects(within(readAll(served.readable), 5000, "the stream after a reset"), isSocksError);
      } finally {
        await done();
      }
    });

    it("the peer reset while a direct read waited: the read rejects with a SocksError 'reset'", async () => {
      const { peer, served, done } = await nodePeer(network);
      try {
        peer.write(text("x"));
        assert.equal(decode(await within(readDirectAtLeast(served, 1), 5000, "the direct read")), "x");
        const waiting = readDirect(served);
        await sleep(50);
        peer.resetAndDestroy();
        await assert.rejects(within(waiting, 5000, "the waiting read"), (error: unknown) => {
          assert.ok(error instanceof SocksError, `${error}`);
          assert.equal(error.code, "reset");
          return true;
        });
      } finally {
        await done();
      }
    });

    it("a failure seen by direct reads carries over: a stream made afterwards errors, never ends cleanly", async () => {
      const { peer, served, done } = await nodePeer(network);
      try {
        const waiting = readDirect(served);
        await sleep(50);
        peer.resetAndDestroy();
        await assert.rejects(within(waiting, 5000, "the waiting read"), isSocksError);
        // The kernel reports a reset once; a stream that read the socket again would see a clean end: a cut
        // transfer that looks complete.
        const reader = served.readable.getReader();
        let end: string;
        try {
          const { done } = await within(reader.read(), 5000, "the stream's read");
          end = done ? "a clean end" : "data";
        } catch (error) {
          end = error instanceof SocksError ? `SocksError ${error.code}` : String(error);
        }
        assert.equal(end, "SocksError reset");
      } finally {
        await done();
      }
    });

    it("a ByteReader over the connection: release() gives the leftover, then the stream has the rest", async () => {
      const { client, served, done } = await pair(network);
      try {
        const body = payload(100_000, 25);
        const writer = client.writable.getWriter();
        // The head and the start of the body in one write; more body later, then the FIN.
        await writer.write(concat(text("HEAD\0"), body.subarray(0, 1000)));
        const reader = connectionReader(served);
        assert.equal(decode(await within(reader.readUntilNul(64), 5000, "the head")), "HEAD");
        await writer.write(body.subarray(1000, 50_000));
        await sleep(20);
        await writer.write(body.subarray(50_000));
        await writer.close();
        const { leftover, readable } = reader.release();
        assert.ok(leftover.length > 0, "the bytes behind the head were read with it");
        const rest = await within(readAll(readable), 5000, "the released stream");
        assertSame(concat(leftover, rest), body, "leftover then the stream");
      } finally {
        await done();
      }
    });

    it("a ByteReader over the connection: detach() gives the leftover and no reader; readable has the rest", async () => {
      const { client, served, done } = await pair(network);
      try {
        const writer = client.writable.getWriter();
        await writer.write(text("\x05\x01\x00tail-1,"));
        const reader = connectionReader(served);
        assert.deepEqual([...await within(reader.readExactly(3), 5000, "the greeting")], [5, 1, 0]);
        const { leftover, reader: locked } = reader.detach();
        assert.equal(locked, undefined, "a direct reader makes no stream reader");
        assert.equal(decode(leftover), "tail-1,");
        await writer.write(text("tail-2"));
        await writer.close();
        assert.equal(decode(await within(readAll(served.readable), 5000, "the stream")), "tail-2");
      } finally {
        await done();
      }
    });

    it("sink(): writes issued without waiting arrive in order, an 8 MiB one too, while the peer reads slowly", async () => {
      const { client, served, done } = await pair(network);
      try {
        const sink = served.sink!();
        assert.equal(served.sink!(), sink, "one sink per connection");
        const parts: Uint8Array[] = [];
        for (let i = 0; i < 50; i++) parts.push(payload(1 + i * 37, 100 + i));
        parts.push(payload(8 << 20, 26));
        for (let i = 0; i < 50; i++) parts.push(payload(1 + i * 53, 200 + i));
        const writes = parts.map((part) => sink.write(part));
        const closing = sink.close();
        // A slow reader first, so that the large write waits for the socket to drain with later writes queued.
        const reader = client.readable.getReader();
        const got: Uint8Array[] = [];
        for (let i = 0; i < 20; i++) {
          const { value, done } = await within(reader.read(), 5000, "a slow read");
          if (done) break;
          got.push(value.slice());
          await sleep(10);
        }
        reader.releaseLock();
        got.push(await within(readAll(client.readable), 20_000, "the rest"));
        await within(Promise.all([...writes, closing]), 5000, "the writes");
        assertSame(concat(...got), concat(...parts), "what the sink wrote");
      } finally {
        await done();
      }
    });

    it("sink().close() half-closes: the peer reads its end, and this end still reads directly", async () => {
      const { client, served, done } = await pair(network);
      try {
        const sink = served.sink!();
        await sink.write(text("question?"));
        await sink.close();
        assert.equal(decode(await within(readAll(client.readable), 5000, "the peer's read")), "question?");
        await dripWrite(client, [text("answer "), text("after your FIN")], 10);
        assert.equal(decode(await within(readDirectToEnd(served), 5000, "the direct reads")), "answer after your FIN");
      } finally {
        await done();
      }
    });

    it("sink(): a write after the connection was closed rejects with a SocksError, and every later one too", async () => {
      const { client, served, done } = await pair(network);
      try {
        const sink = served.sink!();
        await sink.write(text("one"));
        served.close();
        await assert.rejects(within(sink.write(text("two")), 5000, "a write after close"), isSocksError);
        await assert.rejects(within(sink.write(text("three")), 5000, "a later write"), isSocksError);
        await assert.rejects(within(sink.close(), 5000, "a close after close"), isSocksError);
        const seen = decode(await within(readAll(client.readable).catch(() => new Uint8Array()), 5000, "the peer"));
        assert.ok(seen === "one" || seen === "", `the peer read ${JSON.stringify(seen)}`);
      } finally {
        await done();
      }
    });

    it("sink(): once a write failed (the peer reset), later writes fail too", async () => {
      const { peer, served, done } = await nodePeer(network);
      try {
        const sink = served.sink!();
        peer.resetAndDestroy();
        await sleep(100);
        let failure: unknown;
        for (let i = 0; i < 100 && failure === undefined; i++) {
          await sink.write(new Uint8Array(64 * 1024)).catch((error) => (failure = error));
        }
        assert.ok(failure instanceof SocksError, `writes to a reset peer: ${failure}`);
        await assert.rejects(within(sink.write(text("more")), 5000, "a later write"), isSocksError);
      } finally {
        await done();
      }
    });

    it("a direct read waiting when the connection is closed here rejects with a SocksError", async () => {
      const { client, served, done } = await pair(network);
      try {
        const waiting = readDirect(served);
        await sleep(30);
        served.close();
        await assert.rejects(within(waiting, 3000, "the waiting read"), isSocksError);
        await assert.rejects(
          within(Promise.resolve().then(() => readDirect(served)), 3000, "a later read"),
          isSocksError,
        );
        // And the peer sees the end.
        assert.equal(
          (await within(readAll(client.readable).catch(() => new Uint8Array()), 5000, "the peer")).length,
          0,
        );
      } finally {
        await done();
      }
    });

    it("a native relay takes two connections over after a direct handshake, leftover both ways, half-close", async () => {
      const { listener, accept } = await listenerOn(network);
      const user = await network.connect(listener.address);
      const a = await accept();
      const target = await network.connect(listener.address);
      const b = await accept();
      try {
        // The user's request and the first bytes for the target in one write; the handshake answers directly.
        const userWriter = user.writable.getWriter();
        await userWriter.write(text("HELLO\0up-leftover,"));
        const aReader = connectionReader(a);
        assert.equal(decode(await within(aReader.readUntilNul(16), 5000, "the request")), "HELLO");
        const aSink = a.sink!();
        await aSink.write(text("OK\n"));
        const userReader = user.readable.getReader();
        assert.equal(decode((await within(userReader.read(), 5000, "the answer")).value!), "OK\n");
        // The target greets, with bytes for the user behind its greeting.
        const targetWriter = target.writable.getWriter();
        await targetWriter.write(text("220\0down-leftover,"));
        const bReader = connectionReader(b);
        assert.equal(decode(await within(bReader.readUntilNul(16), 5000, "the greeting")), "220");
        const bSink = b.sink!();
        await bSink.write(text("EHLO"));
        const targetReader = target.readable.getReader();
        assert.equal(decode((await within(targetReader.read(), 5000, "the target's read")).value!), "EHLO");

        const aHanded = aReader.detach();
        const bHanded = bReader.detach();
        let streamsMade = 0;
        let nativeTaken = false;
        const end = (c: Connection, leftover: Uint8Array, writer: typeof aSink, spy: boolean): RelayEnd => ({
          get readable() {
            streamsMade++;
            return c.readable;
          },
          get writable() {
            streamsMade++;
            return c.writable;
          },
          leftover,
          writer,
          close: () => c.close(),
          reset: () => c.reset!(),
          native: spy
            ? {
              relayWith: (other: NativeSocket, options) => {
                const running = c.native!.relayWith(other, options);
                nativeTaken = running !== undefined;
                return running;
              },
            }
            : c.native,
        });
        const running = relay(end(a, aHanded.leftover, aSink, true), end(b, bHanded.leftover, bSink, false));
        assert.ok(nativeTaken, `the native relay took over (${name} adapter)`);
        assert.equal(streamsMade, 0, "no stream was made for the relayed connections");

        // The leftover goes first, then what comes later; each FIN is passed on, the other way stays open.
        await userWriter.write(text("more-up"));
        await userWriter.close();
        const upstream: Uint8Array[] = [];
        for (;;) {
          const { value, done } = await within(targetReader.read(), 5000, "the target's reads");
          if (done) break;
          upstream.push(value.slice());
        }
        assert.equal(decode(concat(...upstream)), "up-leftover,more-up");
        await targetWriter.write(text("more-down"));
        await targetWriter.close();
        const downstream: Uint8Array[] = [];
        for (;;) {
          const { value, done } = await within(userReader.read(), 5000, "the user's reads");
          if (done) break;
          downstream.push(value.slice());
        }
        assert.equal(decode(concat(...downstream)), "down-leftover,more-down");
        const result = await within(running, 5000, "the relay's end");
        assert.deepEqual(result, { aToB: 19, bToA: 23, outcome: "done" });
      } finally {
        user.close();
        target.close();
        a.close();
        b.close();
        await listener.close();
      }
    });

    it("bytes that came between a direct handshake and the relay are relayed, in order, whichever path it takes", async () => {
      const { listener, accept } = await listenerOn(network);
      const user = await network.connect(listener.address);
      const a = await accept();
      const target = await network.connect(listener.address);
      const b = await accept();
      try {
        const userWriter = user.writable.getWriter();
        await userWriter.write(text("REQ\0first,"));
        const aReader = connectionReader(a);
        assert.equal(decode(await within(aReader.readUntilNul(16), 5000, "the request")), "REQ");
        const aSink = a.sink!();
        await aSink.write(text("OK"));
        // The user does not wait for the relay: these come while no direct read waits. The target speaks first
        // (a banner), to a connection nobody has read yet.
        await userWriter.write(text("second,"));
        await sleep(30);
        await userWriter.write(text("third"));
        const targetWriter = target.writable.getWriter();
        await targetWriter.write(text("banner,"));
        await sleep(30);
        const { leftover } = aReader.detach();
        let nativeTaken = false;
        const running = relay(
          {
            // Made only if the relay asks (the streams path): made here, they would take the queued bytes.
            get readable() {
              return a.readable;
            },
            get writable() {
              return a.writable;
            },
            leftover,
            writer: aSink,
            close: () => a.close(),
            native: {
              relayWith: (other: NativeSocket, options) => {
                const started = a.native!.relayWith(other, options);
                nativeTaken = started !== undefined;
                return started;
              },
            },
          },
          {
            get readable() {
              return b.readable;
            },
            get writable() {
              return b.writable;
            },
            close: () => b.close(),
            native: b.native,
          },
        );
        if (name === "bun") {
          // Bun's adapter hands what it queued (either side) to its native relay, sent first: no stream is made.
          assert.ok(nativeTaken, "the native relay took the queued bytes over");
        }
        await userWriter.close();
        assert.equal(decode(await within(readAll(target.readable), 5000, "the target's reads")), "first,second,third");
        await targetWriter.write(text("later"));
        await targetWriter.close();
        assert.equal(decode(await within(readAll(user.readable), 5000, "the user's reads")), "OKbanner,later");
        const result = await within(running, 5000, "the relay's end");
        assert.deepEqual(result, { aToB: 18, bToA: 12, outcome: "done" });
      } finally {
        user.close();
        target.close();
        a.close();
        b.close();
        await listener.close();
      }
    });

    it("a sink write waiting for the peer to read rejects when the connection is closed here", async () => {
      const { served, done } = await pair(network);
      try {
        const sink = served.sink!();
        // Far more than the kernel buffers hold, with nobody reading: the write waits for a drain.
        const writing = sink.write(payload(32 << 20, 27));
        const outcome = await Promise.race([writing.then(() => "written", () => "failed"), sleep(300)]);
        assert.equal(outcome, undefined, "the write waits while nobody reads");
        served.close();
        // The bytes never all went out: a write that resolves here would tell its caller they did (Node 20 calls a
        // write's callback with no error when the socket was destroyed under it).
        await assert.rejects(within(writing, 5000, "the waiting write"), isSocksError);
        await assert.rejects(within(sink.write(text("x")), 5000, "a later write"), isSocksError);
      } finally {
        await done();
      }
    });

    it("a sink write still under way keeps the relay off the native path, and nothing is reordered", async () => {
      const { listener, accept } = await listenerOn(network);
      const user = await network.connect(listener.address);
      const a = await accept();
      const target = await network.connect(listener.address);
      const b = await accept();
      try {
        const aSink = a.sink!();
        // The handshake's last answer is large and the user has not read it yet when the relay starts.
        const answer = payload(16 << 20, 28);
        const answering = aSink.write(answer);
        let nativeTaken: boolean | undefined;
        const running = relay(
          {
            readable: a.readable,
            writable: a.writable,
            writer: aSink,
            close: () => a.close(),
            native: {
              relayWith: (other, options) => {
                const started = a.native!.relayWith(other, options);
                nativeTaken = started !== undefined;
                return started;
              },
            },
          },
          { readable: b.readable, writable: b.writable, close: () => b.close(), native: b.native },
        );
        assert.equal(nativeTaken, false, "the native relay refused a socket with a write in flight");
        const targetWriter = target.writable.getWriter();
        await targetWriter.write(text("after the answer"));
        await targetWriter.close();
        const got = await within(readAll(user.readable), 20_000, "the user's reads");
        await answering;
        assertSame(got, concat(answer, text("after the answer")), "the answer, then the relayed bytes");
        await user.writable.getWriter().close();
        const result = await within(running, 5000, "the relay's end");
        assert.equal(result.outcome, "done");
      } finally {
        user.close();
        target.close();
        a.close();
        b.close();
        await listener.close();
      }
    });
  });
}
