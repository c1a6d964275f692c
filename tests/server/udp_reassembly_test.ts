import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { associate as associateThrough } from "../../lib/client/associate.ts";
import type { Datagram } from "../../lib/net/network.ts";
import type { HostPort } from "../../lib/wire/address.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { encodeSocks5UdpDatagram } from "../../lib/wire/socks5_udp.ts";
import { concat } from "../helpers/bytes.ts";
import { network, rawClient, sleep, testServer } from "../helpers/net.ts";
import { payload } from "../helpers/targets.ts";

/** A UDP target that records what it receives, whole datagram by datagram. */
async function recorder() {
  const got: Datagram[] = [];
  const waiters: (() => void)[] = [];
  const socket = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, (d) => {
    got.push(d);
    waiters.splice(0).forEach((w) => w());
  });
  const until = async (count: number, ms = 3000) => {
    const end = Date.now() + ms;
    while (got.length < count && Date.now() < end) {
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return got.length >= count;
  };
  return { socket, got, until };
}

async function rawAssociation(server: Awaited<ReturnType<typeof testServer>>) {
  const sender = await network.bindUdp({ hostname: "127.0.0.1", port: 0 }, () => {});
  const control = await rawClient(server.endpoint);
  await control.send(concat(
    encodeSocks5Greeting({ methods: [0] }),
    encodeSocks5Request({
      command: 3,
      destination: { address: { type: "ipv4", host: "127.0.0.1" }, port: sender.address.port },
    }),
  ));
  await control.reader.read(decodeSocks5MethodSelection);
  const reply = await control.reader.read(decodeSocks5Reply);
  assert.equal(reply.reply, 0);
  const relayAt = { hostname: "127.0.0.1", port: reply.bound.port };
  const send = (fragment: number, destination: HostPort, data: Uint8Array) =>
    sender.send(encodeSocks5UdpDatagram({ fragment, destination, data }), relayAt);
  return { sender, control, send };
}

describe("UDP reassembly (RFC 1928 section 7)", () => {
  it("associate() sends a datagram fragmented and the server sends it on whole, in one datagram", async () => {
    const server = await testServer({ udpReassembly: true });
    const target = await recorder();
    try {
      const association = await associateThrough(`socks5://${server.endpoint.hostname}:${server.endpoint.port}`, {
        network,
      });
      const data = payload(9000, 3);
      await association.send(data, `127.0.0.1:${target.socket.address.port}`, { fragmentSize: 1000 });
      assert.ok(await target.until(1), "the reassembled datagram never arrived");
      assert.equal(target.got.length, 1);
      assert.deepEqual(new Uint8Array(target.got[0].data), data);
      association.close();
      const record = await server.nextRecord();
      assert.equal(record.bytesUp, 9000);
      assert.equal(record.error, undefined);
    } finally {
      target.socket.close();
      await server.close();
    }
  });

  it("without --udp-reassembly fragments are dropped, as before", async () => {
    const server = await testServer();
    const target = await recorder();
    try {
      const association = await associateThrough(`socks5://${server.endpoint.hostname}:${server.endpoint.port}`, {
        network,
      });
      await association.send(payload(3000), `127.0.0.1:${target.socket.address.port}`, { fragmentSize: 1000 });
      await association.send(new Uint8Array([7]), `127.0.0.1:${target.socket.address.port}`);
      assert.ok(await target.until(1));
      await sleep(200);
      assert.deepEqual(target.got.map((d) => [...d.data]), [[7]]);
      association.close();
      assert.equal((await server.nextRecord()).error, "3 datagrams dropped");
    } finally {
      target.socket.close();
      await server.close();
    }
  });

  it("out of order: a lower FRAG than the highest seen abandons the sequence; ascending order goes through", async () => {
    const server = await testServer({ udpReassembly: true });
    const target = await recorder();
    try {
      const { sender, control, send } = await rawAssociation(server);
      const to: HostPort = { address: { type: "ipv4", host: "127.0.0.1" }, port: target.socket.address.port };
      // 2 before 1: RFC 1928 abandons the 2 when the 1 arrives, so the last fragment finds a gap.
      await send(2, to, new Uint8Array([2]));
      await send(1, to, new Uint8Array([1]));
      await send(0x83, to, new Uint8Array([3]));
      // Then in order, with a standalone datagram as a marker that everything before it was handled.
      await send(1, to, new Uint8Array([11]));
      await send(2, to, new Uint8Array([12]));
      await send(0x83, to, new Uint8Array([13]));
      await send(0, to, new Uint8Array([99]));
      assert.ok(await target.until(2));
      await sleep(200);
      // The relay sends each whole datagram as soon as its lookup is done: the order between them is not kept.
      assert.deepEqual(target.got.map((d) => [...d.data]).sort((a, b) => a.length - b.length), [[99], [11, 12, 13]]);
      control.close();
      sender.close();
      assert.equal((await server.nextRecord()).error, "3 datagrams dropped");
    } finally {
      target.socket.close();
      await server.close();
    }
  });

  it("a lost fragment: the reassembly timer (5 s) abandons the sequence and nothing is sent", async () => {
    const server = await testServer({ udpReassembly: true, udpReassemblyTimeoutMs: 5_000 });
    const target = await recorder();
    try {
      const { sender, control, send } = await rawAssociation(server);
      const to: HostPort = { address: { type: "ipv4", host: "127.0.0.1" }, port: target.socket.address.port };
      await send(1, to, new Uint8Array([1]));
      await send(2, to, new Uint8Array([2]));
      // Fragment 3 is lost; its successor comes after the timer ran out.
      await sleep(5_300);
      await send(0x84, to, new Uint8Array([4]));
      await send(0, to, new Uint8Array([99]));
      assert.ok(await target.until(1));
      await sleep(200);
      assert.deepEqual(target.got.map((d) => [...d.data]), [[99]]);
      control.close();
      sender.close();
      // The two held fragments, freed by the timer, and the late last one, which has nothing to complete.
      assert.equal((await server.nextRecord()).error, "3 datagrams dropped");
    } finally {
      target.socket.close();
      await server.close();
    }
  });

  it("a flood of unfinished sequences is held within one datagram's size, and the association still works", async () => {
    const server = await testServer({ udpReassembly: true });
    const target = await recorder();
    try {
      const { sender, control, send } = await rawAssociation(server);
      const to: HostPort = { address: { type: "ipv4", host: "127.0.0.1" }, port: target.socket.address.port };
      const chunk = payload(1400, 5);
      // 20 sequences of 60 fragments (84 000 bytes each, over the 65 507 limit), none finished.
      for (let n = 0; n < 20; n++) {
        for (let position = 1; position <= 60; position++) await send(position, to, chunk);
        // A breath per sequence, so the kernel's receive buffer does not overflow before the relay reads.
        await sleep(5);
      }
      await sleep(200);
      await send(1, to, new Uint8Array([1]));
      await send(0x82, to, new Uint8Array([2]));
      assert.ok(await target.until(1));
      await sleep(200);
      assert.deepEqual(target.got.map((d) => [...d.data]), [[1, 2]]);
      control.close();
      sender.close();
      const record = await server.nextRecord();
      // Every flooded fragment was dropped or abandoned (UDP on loopback may lose some before the relay sees them).
      const dropped = Number(/^([0-9]+) datagrams dropped$/.exec(record.error ?? "")?.[1]);
      assert.ok(dropped > 0 && dropped <= 1200, record.error);
      assert.equal(record.bytesUp, 2);
    } finally {
      target.socket.close();
      await server.close();
    }
  });
});
