// How the server ends a tunnel that the destination cut, and what it answers when the destination resets or the
// request names port 0. Destinations use node:net, whose resetAndDestroy() sends RST under every runtime.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import type { HostPort } from "../../lib/wire/address.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { socks5Connect, testServer } from "../helpers/net.ts";
import { untrackedSleep } from "../helpers/timers.ts";
import { tcpServer as destination } from "../helpers/tcp_server.ts";

const at = (port: number): HostPort => ({ address: { type: "ipv4", host: "127.0.0.1" }, port });

describe("resets and refusals", () => {
  it("a destination's reset reaches the client as a reset, not as an end (Deno: a FIN, see net.ts)", async () => {
    const target = await destination((socket) => {
      socket.write(new Uint8Array(1000).fill(1), () => setTimeout(() => socket.resetAndDestroy(), 50));
    });
    const server = await testServer();
    try {
      const { client, reply } = await socks5Connect(server.endpoint, at(target.port));
      assert.equal(reply.reply, 0);
      assert.equal((await client.reader.readExactly(1000)).length, 1000);
      const end = await client.reader.readByte().then(
        () => "data",
        (error) => (error instanceof SocksError ? error.code : String(error)),
      );
      // Deno.TcpConn cannot send RST (no SO_LINGER), so a Deno server can only close.
      assert.equal(end, runtimeName() === "deno" ? "closed" : "reset");
      client.close();
      const record = await server.nextRecord();
      assert.equal(record.outcome, "error");
      assert.match(record.error ?? "", /ECONNRESET|reset/i);
    } finally {
      await server.close();
      target.close();
    }
  });

  it("a destination that accepts and resets at once: every request gets a reply (50 tries)", async () => {
    const target = await destination((socket) => socket.resetAndDestroy());
    const server = await testServer();
    try {
      const replies = new Map<number, number>();
      for (let i = 0; i < 50; i++) {
        const attempt = socks5Connect(server.endpoint, at(target.port));
        const result = await Promise.race([attempt, untrackedSleep(5000).then(() => undefined)]);
        assert.ok(result !== undefined, `try ${i}: no reply within 5 s`);
        // Success if the connection existed when the reply went out, else the failure code: never nothing.
        replies.set(result.reply.reply, (replies.get(result.reply.reply) ?? 0) + 1);
        result.client.close();
        await server.nextRecord();
      }
      console.log(`${runtimeName()}: replies by code over 50 tries: ${JSON.stringify(Object.fromEntries(replies))}`);
      for (const code of replies.keys()) assert.ok(code === 0 || code === 1 || code === 5, `reply ${code}`);
    } finally {
      await server.close();
      target.close();
    }
  });

  it("CONNECT to port 0 is refused before any attempt: REP 0x02 in every runtime", async () => {
    const server = await testServer();
    try {
      const { client, reply } = await socks5Connect(server.endpoint, at(0));
      assert.equal(reply.reply, 2);
      client.close();
      const record = await server.nextRecord();
      assert.equal(record.outcome, "not-allowed");
      assert.match(record.error ?? "", /port 0/);
    } finally {
      await server.close();
    }
  });
});
