/**
 * Faults on either side, each with what the client must see, and nothing left behind: after every case the server
 * has no connection open, this process has as many file descriptors as before, and no timer the server started is
 * still pending. Destinations that are not loopback only ever meet the injected test network.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Connection, Network } from "../../lib/net/network.ts";
import { toSocksError } from "../../lib/net/net_error.ts";
import type { HostPort } from "../../lib/wire/address.ts";
import { loopbackOnly, network, type RawClient, rawClient, socks5Connect, testServer } from "../helpers/net.ts";
import { openFds } from "../helpers/proc.ts";
import { type TimerTracker, trackTimers, untrackedSleep } from "../helpers/timers.ts";

type Server = Awaited<ReturnType<typeof testServer>>;

/** A destination whose behaviour each test sets; it serves every connection it accepts with `behave`. */
async function destination(behave: (connection: Connection) => void | Promise<void>) {
  return await network.listen({ hostname: "127.0.0.1", port: 0 }, (connection) => {
    Promise.resolve(behave(connection)).catch(() => connection.close());
  });
}

const ip = (port: number, host = "127.0.0.1"): HostPort => ({
  address: host.includes(":") ? { type: "ipv6", host } : { type: "ipv4", host },
  port,
});

/** Reads until the end; "eof", or "reset" if the read fails; rejects if neither happens within `ms`. */
async function endOf(client: RawClient, ms = 5000): Promise<{ how: "eof" | "reset"; bytes: number }> {
  let bytes = 0;
  const ending = (async () => {
    try {
      for (;;) {
        await client.reader.readByte();
        bytes++;
      }
    } catch (error) {
      return (error as { code?: string }).code === "closed" && /ended after/.test(String(error)) ? "eof" : "reset";
    }
  })();
  const result = await Promise.race([ending, untrackedSleep(ms).then(() => "open" as const)]);
  if (result === "open") throw new Error(`still open after ${ms} ms`);
  return { how: result, bytes };
}

/** A Network on which connecting fails with the runtime-style errno `code`, other calls pass through. */
function failingConnects(code: string): Network {
  const inner = loopbackOnly();
  return {
    ...inner,
    connect: () => Promise.reject(toSocksError(Object.assign(new Error(`simulated ${code}`), { code }), "connect")),
  };
}

describe("faults, and nothing left behind", () => {
  let timers: TimerTracker;
  let fdsBefore: number;
  before(async () => {
    // Let anything from earlier files settle, then count.
    await untrackedSleep(200);
    fdsBefore = openFds();
    timers = trackTimers();
  });
  after(() => timers.stop());

  /** Runs `scenario` against a fresh server, then checks that it cleaned up after itself. */
  async function withServer(
    options: Parameters<typeof testServer>[0],
    scenario: (server: Server) => Promise<void>,
  ): Promise<void> {
    const server = await testServer({ network: loopbackOnly(), ...options });
    try {
      await scenario(server);
      const until = Date.now() + 5000;
      while (server.activeConnections > 0 && Date.now() < until) await untrackedSleep(20);
      assert.equal(server.activeConnections, 0, "connections left open");
    } finally {
      await server.close();
    }
  }

  it("destination refuses: 0x05, then close", async () => {
    const closed = await destination(() => {});
    const port = closed.address.port;
    await closed.close();
    await withServer({}, async (server) => {
      const { client, reply: { reply } } = await socks5Connect(server.endpoint, ip(port));
      assert.equal(reply, 0x05);
      assert.equal((await endOf(client)).bytes, 0);
      client.close();
      assert.equal((await server.nextRecord()).outcome, "connection-refused");
    });
  });

  it("destination resets mid-transfer: the client's tunnel closes at once", async () => {
    const target = await destination(async (connection) => {
      const reader = connection.readable.getReader();
      await reader.read();
      // Closing with unread bytes in the receive queue makes the kernel send RST.
      await untrackedSleep(50);
      connection.close();
    });
    await withServer({}, async (server) => {
      const { client, reply: { reply } } = await socks5Connect(server.endpoint, ip(target.address.port));
      assert.equal(reply, 0);
      const sending = (async () => {
        while (true) await client.send(new Uint8Array(16 * 1024));
      })().catch(() => "stopped");
      const end = await endOf(client);
      assert.equal(end.bytes, 0);
      assert.equal(await Promise.race([sending, untrackedSleep(5000).then(() => "still sending")]), "stopped");
      client.close();
      const record = await server.nextRecord();
      assert.ok(record.bytesUp > 0, JSON.stringify(record));
    });
    await target.close();
  });

  it("destination half-closes: its data and FIN arrive, the client can still send, and both ends finish", async () => {
    let got = 0;
    let markDone: () => void = () => {};
    const done = new Promise<void>((resolve) => (markDone = resolve));
    const target = await destination(async (connection) => {
      const writer = connection.writable.getWriter();
      await writer.write(new TextEncoder().encode("hello"));
      await writer.close();
      for await (const chunk of connection.readable) got += chunk.length;
      connection.close();
      markDone();
    });
    await withServer({}, async (server) => {
      const { client, reply: { reply } } = await socks5Connect(server.endpoint, ip(target.address.port));
      assert.equal(reply, 0);
      assert.deepEqual(new TextDecoder().decode(await client.reader.readExactly(5)), "hello");
      await client.send(new Uint8Array(100_000));
      await client.writer.close();
      assert.equal((await endOf(client)).how, "eof");
      await done;
      assert.equal(got, 100_000);
      client.close();
      const record = await server.nextRecord();
      assert.equal(record.outcome, "ok");
      assert.deepEqual([record.bytesUp, record.bytesDown], [100_000, 5]);
    });
    await target.close();
  });

  it("destination accepts and never answers: the idle timeout closes both ends", async () => {
    let targetSide: Connection | undefined;
    const target = await destination((connection) => void (targetSide = connection));
    await withServer({ idleTimeoutMs: 300 }, async (server) => {
      const { client, reply: { reply } } = await socks5Connect(server.endpoint, ip(target.address.port));
      assert.equal(reply, 0);
      assert.equal((await endOf(client, 3000)).bytes, 0);
      client.close();
      assert.equal((await server.nextRecord()).outcome, "idle-timeout");
      // The server closed its side of the destination too.
      const reader = targetSide!.readable.getReader();
      assert.equal((await reader.read().catch(() => ({ done: true }))).done, true);
      targetSide!.close();
    });
    await target.close();
  });

  for (const [code, socks5] of [["EHOSTUNREACH", 0x04], ["ENETUNREACH", 0x03], ["ETIMEDOUT", 0x06]] as const) {
    it(`${code} from the runtime: 0x0${socks5}, then close`, async () => {
      await withServer({ network: failingConnects(code) }, async (server) => {
        const { client, reply: { reply } } = await socks5Connect(server.endpoint, ip(80, "192.0.2.1"));
        assert.equal(reply, socks5);
        assert.equal((await endOf(client)).bytes, 0);
        client.close();
        await server.nextRecord();
      });
    });
  }

  it("DNS failure: 0x04, then close", async () => {
    await withServer({}, async (server) => {
      const target: HostPort = { address: { type: "domain", host: "no-such-host.invalid" }, port: 80 };
      const { client, reply: { reply } } = await socks5Connect(server.endpoint, target);
      assert.equal(reply, 0x04);
      assert.equal((await endOf(client)).bytes, 0);
      client.close();
      await server.nextRecord();
    });
  });

  it("client resets mid-handshake: the session ends at once, no reply, no timer left", async () => {
    await withServer({ handshakeTimeoutMs: 60_000 }, async (server) => {
      for (const partial of [[5], [5, 2, 0], [5, 1, 0, 5, 1, 0, 3, 20, 0x61], [4, 1, 0, 80, 127]]) {
        const client = await rawClient(server.endpoint);
        await client.send(partial);
        await untrackedSleep(20);
        client.close();
        const record = await server.nextRecord();
        assert.equal(record.reply, undefined, JSON.stringify(record));
        assert.notEqual(record.outcome, "ok");
      }
    });
  });

  it("client resets mid-transfer: the destination's side is closed too", async () => {
    let targetSide: Connection | undefined;
    const target = await destination(async (connection) => {
      targetSide = connection;
      const writer = connection.writable.getWriter();
      while (true) await writer.write(new Uint8Array(64 * 1024));
    });
    await withServer({}, async (server) => {
      const { client, reply: { reply } } = await socks5Connect(server.endpoint, ip(target.address.port));
      assert.equal(reply, 0);
      await client.reader.readExactly(100_000);
      client.close();
      const record = await server.nextRecord();
      assert.ok(record.bytesDown >= 100_000);
      const reader = targetSide!.readable.getReader();
      const result = await Promise.race([
        reader.read().then((r) => (r.done ? "eof" : "data"), () => "reset"),
        untrackedSleep(5000).then(() => "open"),
      ]);
      assert.ok(result === "eof" || result === "reset", `the destination's side is ${result}`);
      targetSide!.close();
    });
    await target.close();
  });

  it("left nothing behind: no timer pending, as many file descriptors as before", async () => {
    await untrackedSleep(300);
    assert.equal(timers.live(), 0, "timers still pending");
    const until = Date.now() + 5000;
    while (openFds() > fdsBefore && Date.now() < until) await untrackedSleep(50);
    assert.ok(openFds() <= fdsBefore, `${openFds()} file descriptors open, ${fdsBefore} before`);
  });
});
