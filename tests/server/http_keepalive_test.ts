/**
 * The wait for the next request on an HTTP keep-alive connection: the keep-alive timeout once a request got past
 * authentication, the handshake timeout before that. The fetch bridge sets it to never, so that an idle pooled
 * connection is closed by the runtime's fetch (whose pool then cannot race the close), never by the bridge.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { resolveConfig } from "../../lib/server/config.ts";
import { closesWithin, network, rawClient, sleep, testServer } from "../helpers/net.ts";
import { ascii, httpOrigin, readResponse } from "../helpers/http.ts";
import { payload } from "../helpers/targets.ts";

type Origin = Awaited<ReturnType<typeof httpOrigin>>;

const credentials = `Proxy-Authorization: Basic ${btoa("alice:s3cret")}\r\n`;

describe("HTTP proxy: the keep-alive timeout", () => {
  let origin: Origin;
  before(async () => {
    origin = await httpOrigin("127.0.0.1", payload);
  });
  after(() => origin.close());

  const get = (extra = "") => ascii(`GET http://127.0.0.1:${origin.port}/echo HTTP/1.1\r\nHost: x\r\n${extra}\r\n`);

  it("defaults to the handshake timeout; 0 means never", () => {
    assert.equal(resolveConfig({ network }).keepAliveTimeoutMs, 30_000);
    assert.equal(resolveConfig({ network, handshakeTimeoutMs: 5000 }).keepAliveTimeoutMs, 5000);
    assert.equal(resolveConfig({ network, handshakeTimeoutMs: 5000, keepAliveTimeoutMs: 0 }).keepAliveTimeoutMs, 0);
    assert.throws(() => resolveConfig({ network, keepAliveTimeoutMs: -1 }), /keepAliveTimeoutMs must be/);
  });

  it("0: an authenticated connection idle for longer than the handshake timeout still carries the next request", async () => {
    const server = await testServer({
      users: new Map([["alice", "s3cret"]]),
      handshakeTimeoutMs: 300,
      keepAliveTimeoutMs: 0,
    });
    try {
      const client = await rawClient(server.endpoint);
      await client.send(get(credentials));
      assert.equal((await readResponse(client)).status, 200);
      await sleep(900);
      await client.send(get(credentials));
      assert.equal((await readResponse(client)).status, 200);
      client.close();
      assert.deepEqual([(await server.nextRecord()).reply, (await server.nextRecord()).reply], [200, 200]);
    } finally {
      await server.close();
    }
  });

  it("0: a connection that sent nothing, or only got a 407, is still cut at the handshake timeout", async () => {
    const server = await testServer({
      users: new Map([["alice", "s3cret"]]),
      handshakeTimeoutMs: 300,
      keepAliveTimeoutMs: 0,
    });
    try {
      const silent = await rawClient(server.endpoint);
      const challenged = await rawClient(server.endpoint);
      await challenged.send(get());
      assert.equal((await readResponse(challenged)).status, 407);
      assert.ok(await closesWithin(silent, 5000));
      assert.ok(await closesWithin(challenged, 5000));
    } finally {
      await server.close();
    }
  });

  it("a keep-alive timeout cuts an idle connection after a request that got in", async () => {
    const server = await testServer({ handshakeTimeoutMs: 30_000, keepAliveTimeoutMs: 300 });
    try {
      const client = await rawClient(server.endpoint);
      await client.send(get());
      assert.equal((await readResponse(client)).status, 200);
      assert.ok(await closesWithin(client, 5000));
    } finally {
      await server.close();
    }
  });
});
