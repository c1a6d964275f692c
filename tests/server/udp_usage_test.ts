/**
 * UDP ASSOCIATE under a client address's (or user's) limits (lib/server/commands/udp_associate.ts): the relayed
 * payload of both directions counts toward the quota, the datagram that would cross it is dropped and the association
 * ends ("quota-reached"), a spent quota refuses a new association with 0x02, and datagrams over the rate are
 * dropped, not delayed. No time is asserted: counts only.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeSocks5UdpDatagram } from "../../lib/wire/socks5_udp.ts";
import { network, testServer } from "../helpers/net.ts";
import { associate, udpInbox } from "../helpers/udp.ts";

describe("UDP ASSOCIATE under limits", () => {
  it("counts both directions toward the quota, ends at the crossing, then refuses with 0x02", async () => {
    const server = await testServer({ clientLimit: { quotaBytes: 10_000, quotaPeriod: "day" } });
    const client = await udpInbox();
    const echo = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, (d) => void echo.send(d.data, d.from));
    try {
      const { control, reply } = await associate(server, client.socket.address.port);
      assert.equal(reply.reply, 0);
      const relayAt = { hostname: "127.0.0.1", port: reply.bound.port };
      const destination = { address: { type: "ipv4" as const, host: "127.0.0.1" }, port: echo.address.port };
      const datagram = encodeSocks5UdpDatagram({ fragment: 0, destination, data: new Uint8Array(1000) });
      // Five round trips move 10 000 bytes, the whole quota; the sixth datagram would cross it.
      for (let i = 0; i < 5; i++) {
        await client.socket.send(datagram, relayAt);
        assert.ok(await client.next(), `no answer to datagram ${i + 1}`);
      }
      await client.socket.send(datagram, relayAt);
      assert.equal(await client.next(300), undefined, "a datagram past the quota was relayed");
      // The association ends: its TCP connection is closed by the server.
      await control.readToEnd();
      control.close();
      const record = await server.nextRecord();
      assert.equal(record.outcome, "quota-reached");
      assert.match(record.error ?? "", /client 127\.0\.0\.1: quota of 10000 bytes a day is spent/);
      assert.equal(record.bytesUp + record.bytesDown, 10_000);

      const again = await associate(server, client.socket.address.port);
      assert.equal(again.reply.reply, 0x02);
      again.control.close();
      assert.equal((await server.nextRecord()).outcome, "quota-exceeded");
    } finally {
      client.socket.close();
      echo.close();
      await server.close();
    }
  });

  it("drops datagrams over the rate instead of relaying them all", async () => {
    // 1000 B/s with the limiter's smallest burst (16 KiB): of 40 datagrams of 1000 bytes sent at once, about 17 fit.
    const server = await testServer({ clientLimit: { bytesPerSecond: 1000 } });
    const client = await udpInbox();
    let received = 0;
    const sink = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, () => void received++);
    try {
      const { control, reply } = await associate(server, client.socket.address.port);
      assert.equal(reply.reply, 0);
      const relayAt = { hostname: "127.0.0.1", port: reply.bound.port };
      const destination = { address: { type: "ipv4" as const, host: "127.0.0.1" }, port: sink.address.port };
      const datagram = encodeSocks5UdpDatagram({ fragment: 0, destination, data: new Uint8Array(1000) });
      for (let i = 0; i < 40; i++) await client.socket.send(datagram, relayAt);
      // The relay has handled them all once the sink hears nothing new for a while.
      let before = -1;
      while (before !== received) {
        before = received;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      control.close();
      const record = await server.nextRecord();
      assert.ok(received > 0, "nothing was relayed");
      assert.ok(received <= 20, `${received} of 40 datagrams relayed at 1000 B/s`);
      assert.equal(record.bytesUp, received * 1000);
      assert.match(record.error ?? "", new RegExp(`^${40 - received} datagrams dropped$`));
    } finally {
      client.socket.close();
      sink.close();
      await server.close();
    }
  });
});
