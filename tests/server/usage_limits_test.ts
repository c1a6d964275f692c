/**
 * Bandwidth and quotas per user (lib/server/usage_control.ts, the metered relay): a user limited to 1 MiB/s moving
 * 4 MiB through SOCKS5 and through HTTP CONNECT, two tunnels of one user sharing the rate without one starving, an
 * unlimited user not slowed; a quota crossed inside a tunnel closes it at the crossing (no byte over), and a spent
 * quota is refused on every protocol: SOCKS5 0x02, SOCKS4 91, HTTP 403 naming the quota. The times asserted are
 * lower bounds (a limit that holds cannot be faster) and orders, never how fast the machine is.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../lib/client/connect.ts";
import type { Listener } from "../../lib/net/network.ts";
import { decodeSocks4Reply, encodeSocks4Request } from "../../lib/wire/socks4.ts";
import { network, rawClient, testServer } from "../helpers/net.ts";

const MIB = 1024 * 1024;

/** A TCP sink on 127.0.0.1: counts what each connection sends until its FIN. */
async function sink(): Promise<Listener & { done: Promise<number>[] }> {
  const done: Promise<number>[] = [];
  const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, (connection) => {
    done.push((async () => {
      let n = 0;
      try {
        for await (const chunk of connection.readable) n += chunk.length;
      } catch { /* a tunnel cut at a quota ends with a close or reset: n is what arrived */ }
      connection.close();
      return n;
    })());
  });
  return Object.assign(listener, { done });
}

/** Sends `bytes` through a SOCKS5 tunnel as `user`; resolves with the ms it took to hand them all over and FIN. */
async function upload(proxy: string, port: number, bytes: number): Promise<number> {
  const started = performance.now();
  const tunnel = await connect(proxy, `127.0.0.1:${port}`, { network });
  const writer = tunnel.writable.getWriter();
  const chunk = new Uint8Array(64 * 1024);
  try {
    for (let sent = 0; sent < bytes; sent += chunk.length) {
      await writer.write(chunk.subarray(0, Math.min(chunk.length, bytes - sent)));
    }
    await writer.close();
    for await (const _ of tunnel.readable) { /* until the destination closes */ }
  } catch { /* cut at a quota */ }
  tunnel.close();
  return performance.now() - started;
}

/** An HTTP CONNECT through the server as `user`, sending `bytes`; resolves with the status line and the ms taken. */
async function httpConnectUpload(
  server: { hostname: string; port: number },
  auth: string,
  port: number,
  bytes: number,
): Promise<{ status: string; ms: number; body: string }> {
  const started = performance.now();
  const client = await rawClient(server);
  const basic = btoa(auth);
  await client.send(
    new TextEncoder().encode(
      `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nProxy-Authorization: Basic ${basic}\r\n\r\n`,
    ),
  );
  // The head, byte by byte up to its blank line (the body follows only on a refusal).
  let text = "";
  while (!text.endsWith("\r\n\r\n")) text += String.fromCharCode(await client.reader.readByte());
  const status = text.split("\r\n")[0];
  let body = "";
  if (status.includes(" 200 ")) {
    const chunk = new Uint8Array(64 * 1024);
    for (let sent = 0; sent < bytes; sent += chunk.length) await client.send(chunk);
    await client.writer.close();
  } else {
    body = new TextDecoder().decode(await client.readToEnd());
  }
  await client.readToEnd().catch(() => undefined);
  client.close();
  return { status, ms: performance.now() - started, body };
}

describe("bandwidth per user", () => {
  it(
    "1 MiB/s: 4 MiB through SOCKS5 takes about 4 s; another user at the same time is not slowed",
    { timeout: 60_000 },
    async () => {
      const target = await sink();
      const server = await testServer({
        users: new Map([["alice", "a"], ["bob", "b"]]),
        userLimits: { alice: { bytesPerSecond: MIB } },
      });
      try {
        const proxy = (user: string, password: string) =>
          `socks5://${user}:${password}@127.0.0.1:${server.endpoint.port}`;
        let aliceDone = false;
        const alice = upload(proxy("alice", "a"), target.address.port, 4 * MIB).then((ms) => (aliceDone = true, ms));
        const bob = await upload(proxy("bob", "b"), target.address.port, 4 * MIB);
        assert.equal(aliceDone, false, `bob (unlimited, ${bob} ms) finished while alice was still limited`);
        const ms = await alice;
        // 4 MiB at 1 MiB/s, less the small burst allowed at the start.
        assert.ok(ms >= 3_500, `4 MiB at 1 MiB/s took only ${ms} ms`);
        assert.deepEqual((await Promise.all(target.done)).sort(), [4 * MIB, 4 * MIB]);
      } finally {
        await server.close();
        await target.close();
      }
    },
  );

  it("two tunnels of one user share the rate, and neither starves the other", { timeout: 60_000 }, async () => {
    const target = await sink();
    const server = await testServer({
      users: new Map([["alice", "a"]]),
      userLimits: { alice: { bytesPerSecond: MIB } },
    });
    try {
      const proxy = `socks5://alice:a@127.0.0.1:${server.endpoint.port}`;
      const times = await Promise.all([
        upload(proxy, target.address.port, 2 * MIB),
        upload(proxy, target.address.port, 2 * MIB),
      ]);
      // Together 4 MiB at 1 MiB/s; had one taken the whole rate first, it would have ended after about 2 s.
      assert.ok(Math.min(...times) >= 3_000, `the tunnels ended after ${times.join(" and ")} ms`);
    } finally {
      await server.close();
      await target.close();
    }
  });

  it("1 MiB/s through HTTP CONNECT too", { timeout: 60_000 }, async () => {
    const target = await sink();
    const server = await testServer({
      users: new Map([["alice", "a"]]),
      userLimits: { alice: { bytesPerSecond: MIB } },
    });
    try {
      const result = await httpConnectUpload(server.endpoint, "alice:a", target.address.port, 4 * MIB);
      assert.match(result.status, / 200 /);
      assert.equal(await target.done[0], 4 * MIB);
      assert.ok(result.ms >= 3_500, `4 MiB at 1 MiB/s took only ${result.ms} ms`);
    } finally {
      await server.close();
      await target.close();
    }
  });
});

describe("quotas per user", () => {
  it("the crossing closes the tunnel with no byte over; then SOCKS5 0x02, SOCKS4 91 and HTTP 403 naming the quota", {
    timeout: 60_000,
  }, async () => {
    const target = await sink();
    const server = await testServer({
      users: new Map([["carol", "c"]]),
      userLimits: { carol: { quotaBytes: 100_000, quotaPeriod: "day" } },
      allowSocks4UserId: true,
    });
    try {
      await upload(`socks5://carol:c@127.0.0.1:${server.endpoint.port}`, target.address.port, 300_000);
      assert.equal(await target.done[0], 100_000);
      const crossed = await server.nextRecord();
      assert.equal(crossed.outcome, "quota-reached");
      assert.equal(crossed.bytesUp, 100_000);
      assert.match(crossed.error ?? "", /user carol: quota of 100000 bytes a day is spent/);

      await assert.rejects(
        connect(`socks5://carol:c@127.0.0.1:${server.endpoint.port}`, `127.0.0.1:${target.address.port}`, { network }),
        (error: { reply?: number }) => error.reply === 0x02,
      );
      assert.equal((await server.nextRecord()).outcome, "quota-exceeded");

      const socks4 = await rawClient(server.endpoint);
      await socks4.send(encodeSocks4Request({
        command: 1,
        destination: { address: { type: "ipv4", host: "127.0.0.1" }, port: target.address.port },
        userId: "carol",
      }));
      assert.equal((await socks4.reader.read(decodeSocks4Reply)).reply, 91);
      socks4.close();
      assert.equal((await server.nextRecord()).outcome, "quota-exceeded");

      const http = await httpConnectUpload(server.endpoint, "carol:c", target.address.port, 0);
      assert.match(http.status, /^HTTP\/1\.1 403 /);
      assert.match(http.body, /quota of 100000 bytes a day is spent/);
      // HTTP forwarding too.
      const get = await rawClient(server.endpoint);
      await get.send(new TextEncoder().encode(
        `GET http://127.0.0.1:${target.address.port}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nProxy-Authorization: Basic ${
          btoa("carol:c")
        }\r\nConnection: close\r\n\r\n`,
      ));
      const answer = new TextDecoder().decode(await get.readToEnd());
      get.close();
      assert.match(answer, /^HTTP\/1\.1 403 /);
      assert.match(answer, /quota of 100000 bytes a day is spent/);
      assert.equal(target.done.length, 1, "no refused request reached the destination");
    } finally {
      await server.close();
      await target.close();
    }
  });

  it("without users, each client address has its own quota (clientLimit)", { timeout: 60_000 }, async () => {
    const target = await sink();
    const server = await testServer({ clientLimit: { quotaBytes: 50_000, quotaPeriod: "week" } });
    try {
      const proxy = `socks5://127.0.0.1:${server.endpoint.port}`;
      await upload(proxy, target.address.port, 80_000);
      assert.equal(await target.done[0], 50_000);
      assert.equal((await server.nextRecord()).outcome, "quota-reached");
      await assert.rejects(
        connect(proxy, `127.0.0.1:${target.address.port}`, { network }),
        (error: { reply?: number }) => error.reply === 0x02,
      );
      const refused = await server.nextRecord();
      assert.equal(refused.outcome, "quota-exceeded");
      assert.match(refused.error ?? "", /client 127\.0\.0\.1: quota of 50000 bytes a week is spent/);
    } finally {
      await server.close();
      await target.close();
    }
  });
});
