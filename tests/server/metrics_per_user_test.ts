/**
 * `metricsPerUser` (`tabi serve --metrics-per-user`): /metrics gains each user's bytes and refusals (a spent quota
 * among them), in text promtool accepts; without it, no user appears. Worker snapshots add up per user.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../lib/client/connect.ts";
import { emptySnapshot, formatPrometheus, sumSnapshots } from "../../lib/server/metrics.ts";
import { echoServer, network, testServer } from "../helpers/net.ts";
import { requirePeer } from "../helpers/peers.ts";
import { run } from "../helpers/process.ts";

/** Sends `bytes` to the echo server through the proxy and reads them back. */
async function echoThrough(proxy: string, port: number, bytes: number): Promise<void> {
  const tunnel = await connect(proxy, `127.0.0.1:${port}`, { network });
  const writer = tunnel.writable.getWriter();
  await writer.write(new Uint8Array(bytes));
  await writer.close();
  for await (const _ of tunnel.readable) { /* the echo, to its end */ }
  tunnel.close();
}

describe("metrics per user", () => {
  for (const perUser of [true, false]) {
    it(`metricsPerUser ${perUser}: bytes and refusals per user ${perUser ? "counted" : "absent"}`, async () => {
      const promtool = requirePeer("promtool");
      const echo = await echoServer();
      const server = await testServer({
        users: new Map([["alice", "a"], ["carol", "c"]]),
        userLimits: { carol: { quotaBytes: 1_000, quotaPeriod: "day" } },
        metricsPerUser: perUser,
      });
      try {
        const proxy = (user: string) => `socks5://${user}:${user[0]}@127.0.0.1:${server.endpoint.port}`;
        await echoThrough(proxy("alice"), echo.address.port, 300);
        await server.nextRecord();
        await echoThrough(proxy("carol"), echo.address.port, 400);
        await server.nextRecord();
        await echoThrough(proxy("carol"), echo.address.port, 600).catch(() => {});
        await server.nextRecord();
        await assert.rejects(echoThrough(proxy("carol"), echo.address.port, 1));
        await server.nextRecord();
        const text = formatPrometheus(server.metrics());
        const check = await run(promtool, ["check", "metrics"], { input: new TextEncoder().encode(text) });
        assert.equal(check.code, 0, check.stderr + new TextDecoder().decode(check.stdout));
        assert.match(text, /^tabi_refused_total\{reason="quota-exceeded"\} 1$/m);
        if (!perUser) {
          assert.doesNotMatch(text, /tabi_user_/);
          return;
        }
        assert.match(text, /^tabi_user_bytes_total\{user="alice",direction="up"\} 300$/m);
        assert.match(text, /^tabi_user_bytes_total\{user="alice",direction="down"\} 300$/m);
        // 400 each way, then 600 up cut where the quota (both ways together) reaches 1000: 200 more up, none back.
        assert.match(text, /^tabi_user_bytes_total\{user="carol",direction="up"\} 600$/m);
        assert.match(text, /^tabi_user_bytes_total\{user="carol",direction="down"\} 400$/m);
        assert.match(text, /^tabi_user_refused_total\{user="carol",reason="quota-exceeded"\} 1$/m);
        assert.doesNotMatch(text, /tabi_user_refused_total\{user="alice"/);
      } finally {
        await server.close();
        await echo.close();
      }
    });
  }

  it("workers' snapshots add up per user", () => {
    const one = { ...emptySnapshot(), users: { alice: { up: 1, down: 2, refused: { "quota-exceeded": 1 } } } };
    assert.deepEqual(sumSnapshots([one, one, emptySnapshot()]).users, {
      alice: { up: 2, down: 4, refused: { "quota-exceeded": 2 } },
    });
    assert.equal(sumSnapshots([emptySnapshot()]).users, undefined);
  });
});
