import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { encodeProxyHeader } from "../../lib/wire/proxy_protocol.ts";
import { concat } from "../helpers/bytes.ts";
import { closesWithin, echoServer, rawClient, socks5Connect, testServer } from "../helpers/net.ts";
import type { Listener } from "../../lib/net/network.ts";
import { encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { decodeSocks5MethodSelection } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply } from "../../lib/wire/socks5_request.ts";
import { formatPrometheus } from "../../lib/server/metrics.ts";
import { readResponse } from "../helpers/http.ts";

const header = (version: 1 | 2, client: string, port = 40000) =>
  encodeProxyHeader({
    version,
    source: { hostname: client, port },
    destination: { hostname: "127.0.0.1", port: 1080 },
  });

describe("PROXY protocol on receipt", () => {
  let echo: Listener;
  before(async () => {
    echo = await echoServer();
  });
  after(async () => {
    await echo.close();
  });
  const target = () => ({ address: { type: "ipv4" as const, host: "127.0.0.1" }, port: echo.address.port });

  /** A SOCKS5 CONNECT sent right behind `prefix`, all in one write: the header must not swallow SOCKS bytes. */
  async function connectBehind(server: { endpoint: { hostname: string; port: number } }, prefix: Uint8Array) {
    const client = await rawClient(server.endpoint);
    await client.send(
      concat(
        prefix,
        encodeSocks5Greeting({ methods: [0] }),
        encodeSocks5Request({ command: 1, destination: target() }),
      ),
    );
    return client;
  }

  for (const version of [1, 2] as const) {
    it(`v${version}: the header's source is the client for logs and rules; bytes behind it are SOCKS`, async () => {
      const server = await testServer({
        proxyProtocol: ["127.0.0.0/8"],
        rules: [{ action: "deny", clients: ["192.0.2.66"] }, { action: "allow" }],
      });
      try {
        const client = await connectBehind(server, header(version, "192.0.2.7"));
        assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 0);
        assert.equal((await client.reader.read(decodeSocks5Reply)).reply, 0);
        await client.send([1, 2, 3]);
        assert.deepEqual([...(await client.reader.readExactly(3))], [1, 2, 3]);
        client.close();
        const record = await server.nextRecord();
        assert.equal(record.client, "192.0.2.7:40000");
        assert.equal(record.outcome, "ok");

        const denied = await connectBehind(server, header(version, "192.0.2.66"));
        await denied.reader.read(decodeSocks5MethodSelection);
        assert.equal((await denied.reader.read(decodeSocks5Reply)).reply, 2, "ruleset refusal");
        denied.close();
        const deniedRecord = await server.nextRecord();
        assert.equal(deniedRecord.client, "192.0.2.66:40000");
        assert.equal(deniedRecord.outcome, "not-allowed");
        const text = formatPrometheus(server.metrics());
        assert.match(text, /^tabi_refused_total\{reason="not-allowed"\} 1$/m);
      } finally {
        await server.close();
      }
    });
  }

  it("the header, then the greeting and the request in writes of their own: each is read, none is lost", async () => {
    // The connection seen as the header's client must not make the socket's streams while the handshake still reads
    // it directly (Connection.read): a greeting after the header would then find the socket taken.
    const server = await testServer({ proxyProtocol: ["127.0.0.0/8"] });
    try {
      for (const version of [1, 2] as const) {
        const client = await rawClient(server.endpoint);
        await client.send(header(version, "192.0.2.9", 4040));
        await new Promise((resolve) => setTimeout(resolve, 30));
        await client.send(encodeSocks5Greeting({ methods: [0] }));
        assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 0);
        await client.send(encodeSocks5Request({ command: 1, destination: target() }));
        assert.equal((await client.reader.read(decodeSocks5Reply)).reply, 0);
        await client.send([7, 8, 9]);
        assert.deepEqual([...(await client.reader.readExactly(3))], [7, 8, 9]);
        client.close();
        const record = await server.nextRecord();
        assert.equal(record.client, "192.0.2.9:4040");
        assert.equal(record.outcome, "ok");
      }
    } finally {
      await server.close();
    }
  });

  it("HTTP on the same port behind a balancer: the header's source is the client of a CONNECT", async () => {
    const server = await testServer({ proxyProtocol: ["127.0.0.0/8"] });
    try {
      const client = await rawClient(server.endpoint);
      const request = `CONNECT 127.0.0.1:${echo.address.port} HTTP/1.1\r\nHost: x\r\n\r\n`;
      await client.send(concat(header(1, "192.0.2.44", 4444), new TextEncoder().encode(request)));
      // A CONNECT's 200 has no body: the tunnel follows.
      const response = await readResponse(client, true);
      assert.equal(response.status, 200);
      client.close();
      const record = await server.nextRecord();
      assert.equal(record.client, "192.0.2.44:4444");
      assert.equal(record.method, "CONNECT");
    } finally {
      await server.close();
    }
  });

  it("a trusted peer without a header is closed, unanswered", async () => {
    const server = await testServer({ proxyProtocol: ["127.0.0.1/32"] });
    try {
      await assert.rejects(socks5Connect(server.endpoint, target()), "no SOCKS answer comes");
      const record = await server.nextRecord();
      assert.equal(record.outcome, "bad-proxy-header");
      assert.match(record.error ?? "", /first byte 0x05/);
    } finally {
      await server.close();
    }
  });

  it("from an untrusted peer a header is refused as malformed and never honoured", async () => {
    const server = await testServer({ proxyProtocol: ["10.0.0.0/8"] });
    try {
      for (const version of [1, 2] as const) {
        const client = await connectBehind(server, header(version, "192.0.2.7"));
        assert.ok(await closesWithin(client, 5000));
        const record = await server.nextRecord();
        assert.match(record.client, /^127\.0\.0\.1:/);
        assert.equal(record.outcome, "bad-proxy-header");
        assert.match(record.error ?? "", /not a trusted balancer/);
        assert.equal(record.command, undefined);
      }
    } finally {
      await server.close();
    }
  });

  it("per-address limits count the client the header names, not the balancer", async () => {
    const server = await testServer({ proxyProtocol: ["127.0.0.0/8"], limits: { maxClientsPerAddress: 1 } });
    try {
      const first = await connectBehind(server, header(2, "192.0.2.7", 1));
      await first.reader.read(decodeSocks5MethodSelection);
      assert.equal((await first.reader.read(decodeSocks5Reply)).reply, 0);
      // Another client through the same balancer is let in; the same client a second time is not.
      const other = await connectBehind(server, header(2, "192.0.2.8", 2));
      await other.reader.read(decodeSocks5MethodSelection);
      assert.equal((await other.reader.read(decodeSocks5Reply)).reply, 0);
      const again = await connectBehind(server, header(2, "192.0.2.7", 3));
      assert.ok(await closesWithin(again, 5000));
      assert.match(formatPrometheus(server.metrics()), /^tabi_refused_total\{reason="maxClientsPerAddress"\} 1$/m);
      first.close();
      other.close();
    } finally {
      await server.close();
    }
  });

  it("silent connections from a trusted balancer count toward maxClients and maxHandshakes from accept", async () => {
    // Before the fix they escaped both limits until their header arrived: 300 silent ones were all held.
    for (const limits of [{ maxClients: 3 }, { maxHandshakes: 3 }]) {
      const server = await testServer({ proxyProtocol: ["127.0.0.0/8"], limits });
      try {
        const silent = await Promise.all([1, 2, 3].map(() => rawClient(server.endpoint)));
        await new Promise((resolve) => setTimeout(resolve, 50));
        const fourth = await rawClient(server.endpoint);
        assert.ok(await closesWithin(fourth, 2000), `${JSON.stringify(limits)}: the fourth is closed at once`);
        const limit = Object.keys(limits)[0];
        assert.match(
          formatPrometheus(server.metrics()),
          new RegExp(`^tabi_refused_total\\{reason="${limit}"\\} 1$`, "m"),
        );
        for (const client of silent) client.close();
      } finally {
        await server.close();
      }
    }
  });

  it("fuzzed headers (valid, mutated, random) in front of SOCKS: every connection ends with a record", async () => {
    const server = await testServer({ proxyProtocol: ["127.0.0.0/8"], handshakeTimeoutMs: 2000 });
    try {
      const valid = fc.tuple(fc.constantFrom(1 as const, 2 as const), fc.integer({ min: 1, max: 254 }), fc.nat(65535))
        .map(([version, last, port]) => header(version, `192.0.2.${last}`, port));
      const mutated = fc.tuple(valid, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([bytes, at, xor]) => {
        const copy = new Uint8Array(bytes);
        copy[at % copy.length] ^= xor;
        return copy;
      });
      const inputs = fc.sample(fc.oneof(valid, mutated, fc.uint8Array({ minLength: 1, maxLength: 64 })), 60);
      for (const input of inputs) {
        const client = await connectBehind(server, input);
        // Whatever the server answered, it must end the connection (or serve it, when the header was valid).
        const done = closesWithin(client, 5000);
        client.close();
        await done;
        const record = await server.nextRecord();
        // "failed" would be an error nobody mapped; a refused header leaves the peer itself as the client.
        assert.notEqual(record.outcome, "failed", JSON.stringify(record));
        // A mutated address byte is still a header, naming another client: any IP, but always an IP.
        assert.match(record.client, /^(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:.]+\]):\d+$/);
        if (record.outcome === "bad-proxy-header") assert.match(record.client, /^127\.0\.0\.1:/);
      }
    } finally {
      await server.close();
    }
  });

  it("a header cut short runs into the handshake timeout", async () => {
    const server = await testServer({ proxyProtocol: ["127.0.0.0/8"], handshakeTimeoutMs: 300 });
    try {
      const client = await rawClient(server.endpoint);
      await client.send(header(2, "192.0.2.7").subarray(0, 20));
      assert.ok(await closesWithin(client, 5000));
      assert.equal((await server.nextRecord()).outcome, "handshake-timeout");
    } finally {
      await server.close();
    }
  });
});
