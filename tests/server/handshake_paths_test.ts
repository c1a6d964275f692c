/**
 * The same sessions over the handshake's two paths: the runtime's default network as it is (the server reads and
 * writes the client's socket directly, io/byte_source.ts and io/byte_sink.ts), the same network with its
 * Connections counted (which says the direct path ran, and that a natively relayed SOCKS5 CONNECT never made the
 * client's streams), and the same network with `read`/`sink` hidden (the streams path a custom Network takes).
 * SOCKS5 with bytes behind the request, SOCKS4a, SOCKS5 with a password, HTTP CONNECT with bytes behind the head,
 * HTTP forwarding with a body behind the head, a greeting dripped byte by byte, half a request then a FIN, and
 * half-close through the tunnel both ways.
 */
import assert from "node:assert/strict";
import type net from "node:net";
import { after, before, describe, it } from "node:test";
import type { Network } from "../../lib/net/network.ts";
import { decodeSocks4Reply, encodeSocks4Request } from "../../lib/wire/socks4.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeUserPassReply, encodeUserPassRequest } from "../../lib/wire/userpass.ts";
import { concat } from "../helpers/bytes.ts";
import { ascii, checksum, httpOrigin, readResponse } from "../helpers/http.ts";
import { closesWithin, echoServer, network, rawClient, sleep, socks5Connect, testServer } from "../helpers/net.ts";
import { type ConnectionUse, countingNetwork, streamsOnly, type WrappedNetwork } from "../helpers/streams_only.ts";
import { payload } from "../helpers/targets.ts";
import { tcpServer, type TestTcpServer } from "../helpers/tcp_server.ts";

type Server = Awaited<ReturnType<typeof testServer>>;
type Echo = Awaited<ReturnType<typeof echoServer>>;
type Origin = Awaited<ReturnType<typeof httpOrigin>>;

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const ipv4 = (port: number) => ({ address: { type: "ipv4" as const, host: "127.0.0.1" }, port });
const json = (body: Uint8Array) => JSON.parse(decode(body));

/** Whether the default network reads its sockets directly at all (the in-memory one, say, would not). */
const probe = await network.listen({ hostname: "127.0.0.1", port: 0 }, (c) => c.close());
const probeConnection = await network.connect(probe.address);
const DIRECT_CAPABLE = probeConnection.read !== undefined && probeConnection.sink !== undefined;
probeConnection.close();
await probe.close();

const modes: { name: string; path: "direct" | "streams"; make: () => Network | WrappedNetwork }[] = [
  { name: "the default network as it is", path: "direct", make: () => network },
  { name: "the default network, counted", path: "direct", make: () => countingNetwork(network) },
  { name: "streams only (read and sink hidden)", path: "streams", make: () => streamsOnly(network) },
];

for (const mode of modes) {
  describe(`sessions over ${mode.name}`, () => {
    let server: Server;
    let authServer: Server;
    let serverNetwork: Network | WrappedNetwork;
    let echo: Echo;
    let origin: Origin;

    before(async () => {
      serverNetwork = mode.make();
      server = await testServer({ network: serverNetwork });
      authServer = await testServer({ network: serverNetwork, users: new Map([["alice", "s3cret"]]) });
      echo = await echoServer();
      origin = await httpOrigin("127.0.0.1", payload);
    });
    after(async () => {
      echo.close();
      origin.close();
      await server.close();
      await authServer.close();
    });

    /** The use of the connections made since `from` (when this network counts), accepted ones first. */
    const usesSince = (from: number): { accepted: ConnectionUse[]; connected: ConnectionUse[] } | undefined => {
      if (!("uses" in serverNetwork)) return undefined;
      const uses = serverNetwork.uses.slice(from);
      return {
        accepted: uses.filter((u) => u.side === "accepted"),
        connected: uses.filter((u) => u.side === "connected"),
      };
    };
    const usedSoFar = () => ("uses" in serverNetwork ? serverNetwork.uses.length : 0);

    /** The client's connection was read the way this mode says: directly, or through its readable. */
    const assertPath = (from: number) => {
      const uses = usesSince(from);
      if (uses === undefined) return;
      assert.equal(uses.accepted.length, 1, "one client connection");
      const [client] = uses.accepted;
      if (mode.path === "direct" && DIRECT_CAPABLE) {
        assert.ok(client.reads > 0, `the handshake read the socket directly (${JSON.stringify(client)})`);
        assert.ok(client.sinks > 0, `the handshake wrote the socket directly (${JSON.stringify(client)})`);
      } else {
        assert.equal(client.reads + client.sinks, 0, `no direct read or write (${JSON.stringify(client)})`);
        assert.ok(client.readable > 0 && client.writable > 0, `the streams were used (${JSON.stringify(client)})`);
      }
    };

    it("SOCKS5 CONNECT: bytes sent right behind the request, in the same write, reach the destination", async () => {
      const from = usedSoFar();
      const behind = payload(3000, 31);
      const { client, reply } = await socks5Connect(server.endpoint, ipv4(echo.address.port), behind);
      assert.equal(reply.reply, 0);
      assert.deepEqual([...await client.reader.readExactly(behind.length)], [...behind]);
      await client.send(text("and more"));
      assert.equal(decode(await client.reader.readExactly(8)), "and more");
      await client.writer.close();
      assert.equal((await client.readToEnd()).length, 0);
      const record = await server.nextRecord();
      assert.equal(record.outcome, "ok");
      assert.equal(record.bytesUp, behind.length + 8);
      assert.equal(record.bytesDown, behind.length + 8);
      client.close();
      assertPath(from);
      const uses = usesSince(from);
      if (uses !== undefined && mode.path === "direct" && DIRECT_CAPABLE) {
        // Both ends relayed natively after a direct handshake: neither connection's streams were ever made.
        const [accepted] = uses.accepted;
        assert.deepEqual([accepted.readable, accepted.writable], [0, 0], "the client's streams were never made");
        assert.equal(uses.connected.length, 1);
        const [outbound] = uses.connected;
        assert.deepEqual([outbound.readable, outbound.writable], [0, 0], "the outbound streams were never made");
      }
      if (uses !== undefined && mode.path === "streams") {
        // A handshake read through the streams leaves nothing queued: the native relay (kept by the wrapper) still
        // takes over, so the outbound connection, which no handshake reads, never makes its streams either.
        assert.equal(uses.connected.length, 1);
        const [outbound] = uses.connected;
        assert.deepEqual([outbound.readable, outbound.writable], [0, 0], "the relay went native after all");
      }
    });

    it("SOCKS4a CONNECT to a name, with bytes behind the request", async () => {
      const from = usedSoFar();
      const client = await rawClient(server.endpoint);
      await client.send(concat(
        encodeSocks4Request({
          command: 1,
          destination: { address: { type: "domain", host: "localhost" }, port: echo.address.port },
          userId: "fred",
        }),
        text("4a!"),
      ));
      const reply = await client.reader.read(decodeSocks4Reply);
      assert.equal(reply.reply, 90);
      assert.equal(decode(await client.reader.readExactly(3)), "4a!");
      await client.writer.close();
      assert.equal((await client.readToEnd()).length, 0);
      const record = await server.nextRecord();
      assert.equal(record.outcome, "ok");
      assert.equal(record.bytesUp, 3);
      client.close();
      assertPath(from);
    });

    it("SOCKS5 with username/password: the whole exchange in one write, then data", async () => {
      const from = usedSoFar();
      const client = await rawClient(authServer.endpoint);
      await client.send(concat(
        encodeSocks5Greeting({ methods: [0x00, 0x02] }),
        encodeUserPassRequest({ username: "alice", password: "s3cret" }),
        encodeSocks5Request({ command: 1, destination: ipv4(echo.address.port) }),
        text("authed"),
      ));
      assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 0x02);
      assert.equal((await client.reader.read(decodeUserPassReply)).status, 0);
      assert.equal((await client.reader.read(decodeSocks5Reply)).reply, 0);
      assert.equal(decode(await client.reader.readExactly(6)), "authed");
      await client.writer.close();
      assert.equal((await client.readToEnd()).length, 0);
      const record = await authServer.nextRecord();
      assert.equal(record.outcome, "ok");
      assert.equal(record.user, "alice");
      client.close();
      if (usesSince(from) !== undefined) {
        // The auth server shares the network: the one client connection of this case is its own.
        assertPath(from);
      }
    });

    it("SOCKS5 with username/password: a wrong password is refused, and the request behind it is not served", async () => {
      const client = await rawClient(authServer.endpoint);
      await client.send(concat(
        encodeSocks5Greeting({ methods: [0x02] }),
        encodeUserPassRequest({ username: "alice", password: "wrong" }),
        encodeSocks5Request({ command: 1, destination: ipv4(echo.address.port) }),
      ));
      assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 0x02);
      assert.notEqual((await client.reader.read(decodeUserPassReply)).status, 0);
      assert.ok(await closesWithin(client, 3000), "the server closes");
      assert.equal((await authServer.nextRecord()).outcome, "auth-failed");
      client.close();
    });

    it("HTTP CONNECT: bytes sent behind the head, in the same write, reach the destination", async () => {
      const from = usedSoFar();
      const client = await rawClient(server.endpoint);
      const target = `127.0.0.1:${echo.address.port}`;
      await client.send(ascii(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\nbehind the head`));
      const response = await readResponse(client, true);
      assert.equal(response.status, 200);
      assert.equal(decode(await client.reader.readExactly(15)), "behind the head");
      await client.send(text("+1"));
      assert.equal(decode(await client.reader.readExactly(2)), "+1");
      await client.writer.close();
      assert.equal((await client.readToEnd()).length, 0);
      const record = await server.nextRecord();
      assert.equal(record.outcome, "ok");
      assert.equal(record.bytesUp, 17);
      client.close();
      assertPath(from);
    });

    it("HTTP forwarding: an absolute-form GET, then a POST whose body came in the head's write", async () => {
      const from = usedSoFar();
      const client = await rawClient(server.endpoint);
      const base = `http://127.0.0.1:${origin.port}`;
      await client.send(ascii(`GET ${base}/echo?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`));
      const first = await readResponse(client);
      assert.equal(first.status, 200);
      assert.equal(json(first.body).url, "/echo?x=1");
      assert.equal(json(first.body).method, "GET");
      const body = payload(20_000, 32);
      await client.send(concat(
        ascii(
          `POST ${base}/echo HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nContent-Length: ${body.length}\r\n` +
            `Connection: close\r\n\r\n`,
        ),
        body,
      ));
      const second = await readResponse(client);
      assert.equal(second.status, 200);
      const seen = json(second.body);
      assert.deepEqual([seen.method, seen.length, seen.sum], ["POST", body.length, checksum(body)]);
      assert.ok(await closesWithin(client, 3000), "Connection: close ends the connection");
      for (let i = 0; i < 2; i++) {
        const record = await server.nextRecord();
        assert.equal(record.outcome, "ok");
        assert.equal(record.reply, 200);
      }
      client.close();
      assertPath(from);
    });

    it("a greeting and request dripped one byte at a time", async () => {
      const from = usedSoFar();
      const client = await rawClient(server.endpoint);
      const head = concat(
        encodeSocks5Greeting({ methods: [0x00] }),
        encodeSocks5Request({ command: 1, destination: ipv4(echo.address.port) }),
      );
      for (const byte of head) {
        await client.send([byte]);
        await sleep(2);
      }
      assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 0);
      assert.equal((await client.reader.read(decodeSocks5Reply)).reply, 0);
      await client.send(text("drip"));
      assert.equal(decode(await client.reader.readExactly(4)), "drip");
      await client.writer.close();
      assert.equal((await client.readToEnd()).length, 0);
      assert.equal((await server.nextRecord()).outcome, "ok");
      client.close();
      assertPath(from);
    });

    it("half a request, then the client's FIN: logged 'closed', and the server goes on serving", async () => {
      const client = await rawClient(server.endpoint);
      const request = encodeSocks5Request({ command: 1, destination: ipv4(echo.address.port) });
      await client.send(concat(encodeSocks5Greeting({ methods: [0x00] }), request.subarray(0, 5)));
      assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 0);
      await client.writer.close();
      assert.ok(await closesWithin(client, 3000), "the server closes its side");
      const record = await server.nextRecord();
      assert.equal(record.outcome, "closed");
      client.close();
      // An HTTP head cut short the same way.
      const http = await rawClient(server.endpoint);
      await http.send(ascii("GET http://127.0.0.1/ HTTP/1.1\r\nHo"));
      await http.writer.close();
      assert.ok(await closesWithin(http, 3000), "the server closes its side");
      assert.ok(["closed", "bad-field"].includes((await server.nextRecord()).outcome));
      http.close();
      const { client: next, reply } = await socks5Connect(server.endpoint, ipv4(echo.address.port), text("alive"));
      assert.equal(reply.reply, 0);
      assert.equal(decode(await next.reader.readExactly(5)), "alive");
      next.close();
      assert.equal((await server.nextRecord()).outcome, "ok");
    });

    describe("half-close through the tunnel", () => {
      let target: TestTcpServer;
      // What each target connection read before its client's FIN, in order.
      const received: Promise<Uint8Array>[] = [];
      before(async () => {
        target = await tcpServer((socket: net.Socket) => {
          const parts: Uint8Array[] = [];
          socket.on("data", (chunk: Uint8Array) => parts.push(new Uint8Array(chunk)));
          received.push(new Promise((resolve) => socket.on("end", () => resolve(concat(...parts)))));
          socket.once("data", (first: Uint8Array) => {
            // "banner": the target speaks first and finishes at once; anything else: answer after the client's FIN.
            if (decode(first).startsWith("banner")) socket.end("hello, then FIN");
            else socket.on("end", () => socket.end(`got ${parts.reduce((n, p) => n + p.length, 0)} bytes`));
          });
        }, { allowHalfOpen: true });
      });
      after(() => target.close());

      it("the client's FIN first: the target reads to its end, then answers at length", async () => {
        const upload = payload(300_000, 33);
        const { client, reply } = await socks5Connect(server.endpoint, ipv4(target.port), upload.subarray(0, 1000));
        assert.equal(reply.reply, 0);
        await client.send(upload.subarray(1000));
        await client.writer.close();
        assert.equal(decode(await client.readToEnd()), `got ${upload.length} bytes`);
        const got = await received.at(-1)!;
        assert.equal(got.length, upload.length);
        assert.equal(checksum(got), checksum(upload));
        const record = await server.nextRecord();
        assert.equal(record.outcome, "ok");
        assert.equal(record.bytesUp, upload.length);
        client.close();
      });

      it("the target's FIN first: the client reads its end, then uploads, and the target gets it all", async () => {
        const { client, reply } = await socks5Connect(server.endpoint, ipv4(target.port), text("banner?"));
        assert.equal(reply.reply, 0);
        const answer = "hello, then FIN";
        assert.equal(decode(await client.reader.readExactly(answer.length)), answer);
        // The tunnel passed the FIN on: the client's read side ends, its write side stays open.
        const after = await Promise.race([client.reader.readByte().then(() => "data", () => "end"), sleep(3000)]);
        assert.equal(after, "end");
        const upload = payload(200_000, 34);
        await client.send(upload);
        await client.writer.close();
        const got = await received.at(-1)!;
        assert.equal(got.length, 7 + upload.length);
        assert.equal(checksum(got), checksum(concat(text("banner?"), upload)));
        const record = await server.nextRecord();
        assert.equal(record.outcome, "ok");
        assert.equal(record.bytesUp, 7 + upload.length);
        assert.equal(record.bytesDown, answer.length);
        client.close();
      });
    });
  });
}
