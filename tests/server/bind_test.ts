import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { decodeSocks4Reply, encodeSocks4Request } from "../../lib/wire/socks4.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import type { Endpoint } from "../../lib/net/network.ts";
import { closesWithin, network, type RawClient, rawClient, testServer } from "../helpers/net.ts";
import { concat } from "../helpers/bytes.ts";

/** A TCP connection to 127.0.0.1:`port` from the local address `from` (node:net, which every runtime has). */
function connectFrom(from: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: from }, () => resolve(socket));
    socket.on("error", reject);
  });
}

/** Sends a SOCKS4 BIND naming `expectedPeer` (port 21, as FTP would); returns the client. */
async function socks4Bind(server: Endpoint, expectedPeer: string): Promise<RawClient> {
  const client = await rawClient(server);
  await client.send(
    encodeSocks4Request({
      command: 2,
      destination: { address: { type: "ipv4", host: expectedPeer }, port: 21 },
      userId: "",
    }),
  );
  return client;
}

describe("BIND", () => {
  it("SOCKS5: first reply with a usable port, second with the peer, then relay both ways", async () => {
    const server = await testServer();
    try {
      const client = await rawClient(server.endpoint);
      await client.send(concat(
        encodeSocks5Greeting({ methods: [0] }),
        encodeSocks5Request({ command: 2, destination: { address: { type: "ipv4", host: "127.0.0.1" }, port: 0 } }),
      ));
      await client.reader.read(decodeSocks5MethodSelection);
      const first = await client.reader.read(decodeSocks5Reply);
      assert.equal(first.reply, 0);
      assert.equal(first.bound.address.host, "127.0.0.1");
      const peer = await rawClient({ hostname: "127.0.0.1", port: first.bound.port });
      const second = await client.reader.read(decodeSocks5Reply);
      assert.equal(second.reply, 0);
      assert.equal(second.bound.port, peer.connection.localAddress.port);
      await peer.send([1, 2, 3]);
      assert.deepEqual([...await client.reader.readExactly(3)], [1, 2, 3]);
      await client.send([4, 5]);
      assert.deepEqual([...await peer.reader.readExactly(2)], [4, 5]);
      await peer.writer.close();
      assert.equal((await client.readToEnd()).length, 0);
      client.close();
      peer.close();
      const record = await server.nextRecord();
      assert.equal(record.command, "bind");
      assert.equal(record.bytesDown, 3);
      assert.equal(record.bytesUp, 2);
    } finally {
      await server.close();
    }
  });

  it("SOCKS4: a connection from another address is closed, and the named peer still gets through", async () => {
    const server = await testServer();
    try {
      // The request names 127.0.0.2 as the expected peer; a third party connects first, from 127.0.0.1.
      const client = await socks4Bind(server.endpoint, "127.0.0.2");
      const first = await client.reader.read(decodeSocks4Reply);
      assert.equal(first.reply, 90);
      assert.equal(first.bound.address.host, "127.0.0.1");
      const intruder = await rawClient({ hostname: "127.0.0.1", port: first.bound.port });
      assert.ok(await closesWithin(intruder, 2000), "the connection from the wrong address is closed");
      // The BIND is still waiting: the named peer connects and is relayed.
      const peer = await connectFrom("127.0.0.2", first.bound.port);
      const second = await client.reader.read(decodeSocks4Reply);
      assert.equal(second.reply, 90);
      assert.equal(second.bound.address.host, "127.0.0.2");
      peer.write(new Uint8Array([7]));
      assert.deepEqual([...await client.reader.readExactly(1)], [7]);
      client.close();
      peer.destroy();
      assert.equal((await server.nextRecord()).outcome, "ok");
    } finally {
      await server.close();
    }
  });

  it("SOCKS4: only connections from other addresses until the timeout: 91, and the log says why", async () => {
    const server = await testServer({ connectTimeoutMs: 500 });
    try {
      const client = await socks4Bind(server.endpoint, "127.0.0.2");
      const first = await client.reader.read(decodeSocks4Reply);
      const intruder = await rawClient({ hostname: "127.0.0.1", port: first.bound.port });
      assert.ok(await closesWithin(intruder, 2000));
      assert.equal((await client.reader.read(decodeSocks4Reply)).reply, 91);
      const record = await server.nextRecord();
      assert.equal(record.outcome, "timeout");
      assert.match(record.error ?? "", /1 from other addresses closed/);
    } finally {
      await server.close();
    }
  });

  it("SOCKS4: the right peer is relayed; nobody coming is a timeout with 91", async () => {
    const server = await testServer({ connectTimeoutMs: 300 });
    try {
      const client = await socks4Bind(server.endpoint, "127.0.0.1");
      const first = await client.reader.read(decodeSocks4Reply);
      const peer = await rawClient({ hostname: "127.0.0.1", port: first.bound.port });
      const second = await client.reader.read(decodeSocks4Reply);
      assert.equal(second.reply, 90);
      assert.equal(second.bound.address.host, "127.0.0.1");
      await peer.send([42]);
      assert.deepEqual([...await client.reader.readExactly(1)], [42]);
      client.close();
      peer.close();
      await server.nextRecord();

      const lonely = await socks4Bind(server.endpoint, "127.0.0.1");
      const lonelyFirst = await lonely.reader.read(decodeSocks4Reply);
      assert.equal(lonelyFirst.reply, 90);
      assert.equal((await lonely.reader.read(decodeSocks4Reply)).reply, 91);
      assert.equal((await server.nextRecord()).outcome, "timeout");
      // The listening port is gone after the timeout.
      await assert.rejects(network.connect({ hostname: "127.0.0.1", port: lonelyFirst.bound.port }));
    } finally {
      await server.close();
    }
  });
});
