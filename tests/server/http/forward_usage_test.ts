/**
 * HTTP forwarding (absolute-form requests) under a user's bandwidth and quota (lib/server/http/forward.ts, body.ts):
 * the bodies go through the same meter as the user's tunnels, so a 4 MiB download at 1 MiB/s takes about 4 s, a
 * forwarded download and a tunnel of one user share the rate, and a download that crosses the quota is cut there:
 * the client sees an incomplete body and the log says "quota-reached". The times asserted are lower bounds (a limit
 * that holds cannot be faster), never how fast the machine is.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../../lib/client/connect.ts";
import type { Connection, Listener } from "../../../lib/net/network.ts";
import { network, testServer } from "../../helpers/net.ts";

const MIB = 1024 * 1024;
const encoder = new TextEncoder();

/** An HTTP origin on 127.0.0.1 answering every request with `size` bytes (Content-Length), then closing. */
async function origin(size: number): Promise<Listener> {
  return await network.listen({ hostname: "127.0.0.1", port: 0 }, async (connection) => {
    const writer = connection.writable.getWriter();
    try {
      // The request head, up to its blank line (the requests here carry no body).
      // (A reader released, not a loop broken out of: that would cancel the readable and close the socket.)
      const reader = connection.readable.getReader();
      let head = "";
      while (!head.includes("\r\n\r\n")) {
        const { done, value } = await reader.read();
        if (done) break;
        head += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      await writer.write(encoder.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`));
      const piece = new Uint8Array(64 * 1024);
      for (let sent = 0; sent < size; sent += piece.length) {
        await writer.write(piece.subarray(0, Math.min(piece.length, size - sent)));
      }
      await writer.close();
    } catch { /* the proxy cut the download */ }
    connection.close();
  });
}

/** Reads a connection to its end (or reset): the response head and the number of body bytes after it. */
async function readResponse(connection: Connection): Promise<{ head: string; body: number }> {
  let head = "";
  let body = 0;
  try {
    for await (const chunk of connection.readable) {
      if (head.endsWith("\r\n\r\n")) {
        body += chunk.length;
        continue;
      }
      // The head is short and arrives first: decode byte by byte until its end, count the rest as body.
      let i = 0;
      while (i < chunk.length && !head.endsWith("\r\n\r\n")) head += String.fromCharCode(chunk[i++]);
      body += chunk.length - i;
    }
  } catch { /* a reset: what arrived counts */ }
  connection.close();
  return { head, body };
}

/** A forwarded `GET http://127.0.0.1:PORT/` through the proxy as `auth`; the response and the ms it took. */
async function forwardedGet(
  proxy: number,
  auth: string,
  port: number,
): Promise<{ head: string; body: number; ms: number }> {
  const started = performance.now();
  const connection = await network.connect({ hostname: "127.0.0.1", port: proxy });
  const writer = connection.writable.getWriter();
  await writer.write(encoder.encode(
    `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nProxy-Authorization: Basic ${
      btoa(auth)
    }\r\nConnection: close\r\n\r\n`,
  ));
  const response = await readResponse(connection);
  return { ...response, ms: performance.now() - started };
}

describe("HTTP forwarding under a user's limits", () => {
  it("1 MiB/s: a 4 MiB forwarded download takes about 4 s", { timeout: 60_000 }, async () => {
    const site = await origin(4 * MIB);
    const server = await testServer({
      users: new Map([["alice", "a"]]),
      userLimits: { alice: { bytesPerSecond: MIB } },
    });
    try {
      const result = await forwardedGet(server.endpoint.port, "alice:a", site.address.port);
      assert.match(result.head, /^HTTP\/1\.1 200 /);
      assert.equal(result.body, 4 * MIB);
      // 4 MiB at 1 MiB/s, less the small burst allowed at the start.
      assert.ok(result.ms >= 3_500, `4 MiB at 1 MiB/s took only ${result.ms} ms`);
    } finally {
      await server.close();
      await site.close();
    }
  });

  it("a forwarded download and a tunnel of one user share the rate", { timeout: 60_000 }, async () => {
    const site = await origin(2 * MIB);
    const server = await testServer({
      users: new Map([["alice", "a"]]),
      userLimits: { alice: { bytesPerSecond: MIB } },
    });
    try {
      const started = performance.now();
      const viaTunnel = (async () => {
        const tunnel = await connect(
          `socks5://alice:a@127.0.0.1:${server.endpoint.port}`,
          `127.0.0.1:${site.address.port}`,
          {
            network,
          },
        );
        const writer = tunnel.writable.getWriter();
        await writer.write(encoder.encode("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        const response = await readResponse(tunnel);
        return { ...response, ms: performance.now() - started };
      })();
      const viaForward = forwardedGet(server.endpoint.port, "alice:a", site.address.port);
      const results = await Promise.all([viaTunnel, viaForward]);
      assert.deepEqual(results.map((r) => r.body), [2 * MIB, 2 * MIB]);
      // Together 4 MiB down at 1 MiB/s: the last ends after about 4 s. Had the forwarded body its own rate (or
      // none), both would have ended after about 2 s.
      const [tunnelMs, forwardMs] = results.map((r) => r.ms);
      assert.ok(
        Math.max(tunnelMs, forwardMs) >= 3_500,
        `the tunnel ended after ${tunnelMs} ms, the forwarded download after ${forwardMs} ms`,
      );
    } finally {
      await server.close();
      await site.close();
    }
  });

  it("a download that crosses the quota is cut there: an incomplete body, outcome quota-reached", {
    timeout: 60_000,
  }, async () => {
    const site = await origin(3 * MIB);
    const server = await testServer({
      users: new Map([["carol", "c"]]),
      userLimits: { carol: { quotaBytes: MIB, quotaPeriod: "day" } },
    });
    try {
      const result = await forwardedGet(server.endpoint.port, "carol:c", site.address.port);
      assert.match(result.head, /^HTTP\/1\.1 200 /);
      assert.match(result.head, /Content-Length: 3145728\r\n/i);
      assert.ok(result.body <= MIB, `${result.body} bytes of body passed a quota of ${MIB}`);
      const record = await server.nextRecord();
      assert.equal(record.outcome, "quota-reached");
      assert.match(record.error ?? "", /user carol: quota of 1048576 bytes a day is spent/);
      // And the next request is refused with 403 naming the quota.
      const refused = await forwardedGet(server.endpoint.port, "carol:c", site.address.port);
      assert.match(refused.head, /^HTTP\/1\.1 403 /);
    } finally {
      await server.close();
      await site.close();
    }
  });
});
