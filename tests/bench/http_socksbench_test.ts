// The bench's HTTP figures (bench/run.ts http-rate, fwd-rate) are only as good as socksbench's `http` mode and its
// `fwd` command with the `httpd` target: each must make real requests through plain `tabi serve` (no flag: its
// listener speaks HTTP by default, as the bench starts it), count every failure, and its target must answer a request
// head however the reads split it. tabi's log says each request came the way the figure means (an HTTP CONNECT, or a
// forwarded GET), since a mode that quietly did something else would make requests too.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { type Socksbench, startSocksbench } from "../../bench/socksbench.ts";
import { closedPort } from "../helpers/net.ts";
import { requirePeer } from "../helpers/peers.ts";
import { startTabiServe, type TabiServe } from "../helpers/tabi_serve.ts";

const runtime = runtimeName();

/** The JSON log records tabi wrote so far. */
function records(tabi: TabiServe): Record<string, unknown>[] {
  return tabi.stderr().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
}

/** Waits until `count` records follow the first `from`, and returns them. */
async function recordsAfter(tabi: TabiServe, from: number, count: number): Promise<Record<string, unknown>[]> {
  for (let i = 0; i < 200 && records(tabi).length < from + count; i++) await new Promise((r) => setTimeout(r, 50));
  return records(tabi).slice(from);
}

/** Sends `parts` to `address` one write each, `gapMs` apart, and resolves with everything read until the close. */
function exchange(address: string, parts: string[], gapMs: number): Promise<{ text: string; firstAnswerAt: number }> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(":")),
    Number(address.slice(address.lastIndexOf(":") + 1)),
  ];
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let text = "";
    let firstAnswerAt = -1;
    let sent = 0;
    socket.on("data", (chunk) => {
      if (firstAnswerAt < 0) firstAnswerAt = sent;
      text += chunk.toString("latin1");
    });
    socket.once("error", reject);
    socket.once("close", () => resolve({ text, firstAnswerAt }));
    socket.once("connect", async () => {
      for (const part of parts) {
        await new Promise((r) => setTimeout(r, gapMs));
        socket.write(part);
        sent++;
      }
    });
  });
}

describe(`bench: socksbench's http mode and fwd command against plain tabi serve under ${runtime}`, () => {
  let bench: Socksbench;
  let tabi: TabiServe;

  before(async () => {
    requirePeer("gcc");
    requirePeer("/usr/include/openssl/ssl.h");
    bench = await startSocksbench();
    tabi = await startTabiServe(runtime, ["--listen", "127.0.0.1:0", "--log", "json"]);
  });
  after(async () => {
    tabi?.kill("SIGKILL");
    await tabi?.exited;
    bench?.stop();
  });

  it("httpd answers a request head only once it is whole, however the reads split it, then closes", async () => {
    const { text, firstAnswerAt } = await exchange(bench.httpd, ["GET / HTTP/1.1\r\nHost: x\r", "\n\r", "\n"], 100);
    assert.equal(firstAnswerAt, 3);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /\r\nContent-Length: 2\r\n/);
    assert.ok(text.endsWith("\r\n\r\nok"), JSON.stringify(text));
  });

  it("fwd straight to httpd (direct) makes requests, none failed", async () => {
    const result = await bench.run(["fwd", "direct", bench.httpd, "2", "0.5"]);
    assert.ok(result.completed > 0, JSON.stringify(result));
    assert.equal(result.failures, 0);
  });

  it("fwd: GETs forwarded through tabi to httpd, none failed, each logged as a forwarded GET", async () => {
    const from = records(tabi).length;
    const result = await bench.run(["fwd", tabi.proxy, bench.httpd, "4", "1"]);
    assert.ok(result.completed > 0, JSON.stringify(result));
    assert.equal(result.failures, 0);
    const mine = await recordsAfter(tabi, from, result.completed);
    assert.ok(mine.length >= result.completed, `${mine.length} records for ${result.completed} requests`);
    for (const record of mine) {
      assert.equal(record.method, "GET", JSON.stringify(record));
      assert.equal(record.outcome, "ok", JSON.stringify(record));
      assert.equal(record.destination, bench.httpd, JSON.stringify(record));
    }
  });

  it("fwd counts a request the proxy cannot forward (a closed port: 502) as a failure", async () => {
    const result = await bench.run(["fwd", tabi.proxy, `127.0.0.1:${await closedPort()}`, "2", "0.5"]);
    assert.equal(result.completed, 0);
    assert.ok(result.failures > 0, JSON.stringify(result));
  });

  it("fwd counts a target that is not HTTP (the echo target: no response head) as a failure", async () => {
    const result = await bench.run(["fwd", tabi.proxy, bench.echo, "1", "0.5"]);
    assert.equal(result.completed, 0);
    assert.ok(result.failures > 0, JSON.stringify(result));
  });

  it("http: HTTP CONNECT tunnels to the echo target, none failed, each logged as a CONNECT", async () => {
    const from = records(tabi).length;
    const result = await bench.run(["rate", tabi.proxy, bench.echo, "4", "1", "http"]);
    assert.ok(result.completed > 0, JSON.stringify(result));
    assert.equal(result.failures, 0);
    const mine = await recordsAfter(tabi, from, result.completed);
    assert.ok(mine.length >= result.completed, `${mine.length} records for ${result.completed} tunnels`);
    for (const record of mine) {
      assert.equal(record.method, "CONNECT", JSON.stringify(record));
      assert.equal(record.outcome, "ok", JSON.stringify(record));
    }
  });
});
