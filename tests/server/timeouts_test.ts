import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { closesWithin, echoServer, rawClient, sleep, socks5Connect, testServer } from "../helpers/net.ts";

describe("timeouts", () => {
  it("a client that sends nothing, or a byte at a time, is closed when its handshake time is up", async () => {
    const server = await testServer({ handshakeTimeoutMs: 300 });
    try {
      const silent = await rawClient(server.endpoint);
      const slow = await rawClient(server.endpoint);
      const drip = (async () => {
        // A slowloris: a valid greeting, one byte every 100 ms, forever.
        for (const byte of [5, 1, 0, 5, 1, 0, 3, 50]) {
          await sleep(100);
          await slow.send([byte]).catch(() => {});
        }
      })();
      assert.ok(await closesWithin(silent, 3000));
      assert.ok(await closesWithin(slow, 3000));
      await drip;
      const outcomes = [(await server.nextRecord()).outcome, (await server.nextRecord()).outcome];
      assert.deepEqual(outcomes, ["handshake-timeout", "handshake-timeout"]);
    } finally {
      await server.close();
    }
  });

  it("an idle tunnel is closed after the idle timeout; a busy one is not", async () => {
    const echo = await echoServer();
    const server = await testServer({ idleTimeoutMs: 400 });
    try {
      const { client, reply } = await socks5Connect(server.endpoint, {
        address: { type: "ipv4", host: "127.0.0.1" },
        port: echo.address.port,
      });
      assert.equal(reply.reply, 0);
      for (let i = 0; i < 5; i++) {
        await sleep(150);
        await client.send([i]);
        assert.deepEqual([...await client.reader.readExactly(1)], [i]);
      }
      assert.ok(await closesWithin(client, 3000));
      assert.equal((await server.nextRecord()).outcome, "idle-timeout");
    } finally {
      echo.close();
      await server.close();
    }
  });
});
