/**
 * The contract every Network adapter keeps, run against each adapter the running runtime can use: its own native
 * one (Deno, Bun) and the `node:net` one (which Deno and Bun implement too), with real sockets on loopback; and the
 * in-memory one (lib/net/memory_network.ts), which must behave the same.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Network } from "../../lib/net/network.ts";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { MemoryNetwork } from "../../lib/net/memory_network.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { readAll } from "../helpers/bytes.ts";
import { payload, sameBytes } from "../helpers/targets.ts";
import { listenerOn, socketAdapters } from "../helpers/adapters.ts";

async function adaptersOfThisRuntime(): Promise<[string, Network][]> {
  // The in-memory Network keeps the same contract, so it is held to the same tests.
  return [...await socketAdapters(), ["memory", new MemoryNetwork()]];
}

/** Writes `bytes` in chunks of `chunkSize`, reusing one buffer as the relay does, then closes (FIN). */
async function writeAll(writable: WritableStream<Uint8Array>, bytes: Uint8Array, chunkSize = 100_000) {
  const writer = writable.getWriter();
  const buffer = new Uint8Array(chunkSize);
  for (let at = 0; at < bytes.length; at += chunkSize) {
    const part = bytes.subarray(at, at + chunkSize);
    buffer.set(part);
    await writer.write(buffer.subarray(0, part.length));
  }
  await writer.close();
}

for (const [name, network] of await adaptersOfThisRuntime()) {
  describe(`the ${name} adapter under ${runtimeName()}`, () => {
    it("connects on IPv4 and IPv6 and reports both ends' addresses", async () => {
      for (const hostname of ["127.0.0.1", "::1"]) {
        const { listener, accept } = await listenerOn(network, hostname);
        try {
          assert.equal(listener.address.hostname, hostname);
          assert.ok(listener.address.port > 0);
          const client = await network.connect({ hostname, port: listener.address.port });
          const served = await accept();
          assert.deepEqual(client.remoteAddress, listener.address);
          assert.deepEqual(served.localAddress, listener.address);
          assert.deepEqual(served.remoteAddress, client.localAddress);
          client.close();
          served.close();
        } finally {
          await listener.close();
        }
      }
    });

    it("moves 8 MiB each way at once, byte for byte, with the writer reusing its buffer", async () => {
      const { listener, accept } = await listenerOn(network, "127.0.0.1");
      try {
        const up = payload(8 << 20, 3);
        const down = payload(8 << 20, 4);
        const client = await network.connect(listener.address);
        const served = await accept();
        const [gotUp, gotDown] = await Promise.all([
          readAll(served.readable),
          readAll(client.readable),
          writeAll(client.writable, up),
          writeAll(served.writable, down),
        ]);
        assert.ok(sameBytes(gotUp, up), "client to server");
        assert.ok(sameBytes(gotDown, down), "server to client");
        client.close();
        served.close();
      } finally {
        await listener.close();
      }
    });

    it("half-closes both ways: after one side's FIN the other direction keeps flowing", async () => {
      const { listener, accept } = await listenerOn(network, "127.0.0.1");
      try {
        const client = await network.connect(listener.address);
        const served = await accept();
        // The client finishes first; the server reads its end of stream, then answers.
        await writeAll(client.writable, new TextEncoder().encode("question"));
        assert.equal(new TextDecoder().decode(await readAll(served.readable)), "question");
        const answer = payload(1 << 20, 5);
        const [got] = await Promise.all([readAll(client.readable), writeAll(served.writable, answer)]);
        assert.ok(sameBytes(got, answer));
        client.close();
        served.close();

        // And the other way round: the server's FIN first.
        const client2 = await network.connect(listener.address);
        const served2 = await accept();
        await writeAll(served2.writable, new TextEncoder().encode("greeting"));
        assert.equal(new TextDecoder().decode(await readAll(client2.readable)), "greeting");
        const upload = payload(1 << 20, 6);
        const [got2] = await Promise.all([readAll(served2.readable), writeAll(client2.writable, upload)]);
        assert.ok(sameBytes(got2, upload));
        client2.close();
        served2.close();
      } finally {
        await listener.close();
      }
    });

    it("applies backpressure: a reader that does not read stalls the writer, then gets every byte", async () => {
      const { listener, accept } = await listenerOn(network, "127.0.0.1");
      try {
        const total = 256 << 20;
        const chunk = payload(1 << 20, 7);
        const client = await network.connect(listener.address);
        const served = await accept();
        let written = 0;
        const writing = (async () => {
          const writer = client.writable.getWriter();
          while (written < total) {
            await writer.write(chunk);
            written += chunk.length;
          }
          await writer.close();
        })();
        // Wait until the writer stops making progress: the kernel buffers and the readable's window are full.
        let last = -1;
        while (written !== last) {
          last = written;
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        assert.ok(written < 64 << 20, `the writer got ${written} bytes out with nobody reading`);
        let received = 0;
        for await (const part of served.readable) {
          for (let i = 0; i < part.length; i += 4099) {
            assert.equal(part[i], chunk[(received + i) % chunk.length], `byte ${received + i}`);
          }
          received += part.length;
        }
        await writing;
        assert.equal(received, total);
        client.close();
        served.close();
      } finally {
        await listener.close();
      }
    });

    it("close() ends both directions: the peer reads its end, our own reads fail", async () => {
      const { listener, accept } = await listenerOn(network, "127.0.0.1");
      try {
        const client = await network.connect(listener.address);
        const served = await accept();
        const reading = client.readable.getReader().read();
        client.close();
        client.close();
        await assert.rejects(reading, (error: unknown) => error instanceof SocksError);
        assert.equal((await readAll(served.readable)).length, 0);
        served.close();
      } finally {
        await listener.close();
      }
    });

    it("a reset by the peer fails the read and the write with 'reset' or 'closed'", async () => {
      const { listener, accept } = await listenerOn(network, "127.0.0.1");
      try {
        const client = await network.connect(listener.address);
        const served = await accept();
        // Unread data at close makes the kernel send RST instead of FIN.
        const writer = client.writable.getWriter();
        await writer.write(new Uint8Array(1000));
        await new Promise((resolve) => setTimeout(resolve, 50));
        served.close();
        const reader = served.readable.getReader();
        await reader.read().catch(() => {});
        let failed: unknown;
        try {
          for (let i = 0; i < 200; i++) await writer.write(new Uint8Array(64 * 1024));
        } catch (error) {
          failed = error;
        }
        assert.ok(failed instanceof SocksError, `writes after a reset: ${failed}`);
        // ECONNRESET for the write that met the RST, EPIPE ("closed") for one after it: either is honest.
        assert.ok(failed.code === "reset" || failed.code === "closed", failed.code);
        client.close();
      } finally {
        await listener.close();
      }
    });

    it("reset() cuts the connection with a RST: the peer's read fails with 'reset' (Deno's own adapter: a FIN)", async () => {
      const { listener, accept } = await listenerOn(network, "127.0.0.1");
      try {
        const client = await network.connect(listener.address);
        const served = await accept();
        const writer = served.writable.getWriter();
        await writer.write(new Uint8Array([1, 2, 3]));
        const reader = client.readable.getReader();
        let got = 0;
        // Read what was sent first: Linux reports a RST that finds unread data in the queue as an end after it.
        while (got < 3) got += (await reader.read()).value?.length ?? 3;
        served.reset!();
        served.reset!();
        let end: string;
        try {
          const { done } = await reader.read();
          end = done ? "eof" : "data";
        } catch (error) {
          end = error instanceof SocksError ? error.code : String(error);
        }
        // Deno.TcpConn has no SO_LINGER: the Deno adapter's reset() can only close.
        assert.equal(end, name === "deno" ? "eof" : "reset");
        client.close();
      } finally {
        await listener.close();
      }
    });

    it("connect errors: refused, aborted; a closed listener refuses", async () => {
      const { listener } = await listenerOn(network, "127.0.0.1");
      const address = listener.address;
      await listener.close();
      await assert.rejects(
        network.connect(address),
        (error: unknown) => error instanceof SocksError && error.code === "connection-refused",
      );
      const controller = new AbortController();
      controller.abort(new DOMException("gave up", "AbortError"));
      await assert.rejects(
        network.connect({ ...address, signal: controller.signal }),
        (error: unknown) => error instanceof SocksError && error.code === "aborted",
      );
    });

    it("listening on a port in use fails with a SocksError", async () => {
      const { listener } = await listenerOn(network, "127.0.0.1");
      try {
        await assert.rejects(network.listen(listener.address, () => {}), SocksError);
      } finally {
        await listener.close();
      }
    });
  });
}
