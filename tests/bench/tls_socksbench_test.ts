// The bench's TLS figures (bench/run.ts tls-rate, tls-tput) are only as good as socksbench's TLS modes: each must
// make real tunnels through `tabi serve --tls-cert` (SOCKS5 over TLS, an HTTPS proxy, and the plain HTTP CONNECT they
// are compared with), check the proxy's certificate against the bench's throwaway CA, and count every failure. Run
// against tabi under the running runtime, with the bench's own certificate maker and socksbench build; tabi's log
// says each tunnel came the way the mode means (its protocol, and TLS or not), since a mode that quietly fell back to
// plain SOCKS5 would make tunnels too.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { type BenchCert, makeBenchCert } from "../../bench/tls_cert.ts";
import { type Socksbench, startSocksbench } from "../../bench/socksbench.ts";
import { requirePeer } from "../helpers/peers.ts";
import { startTabiServe, type TabiServe } from "../helpers/tabi_serve.ts";

const runtime = runtimeName();
const BYTES = 8 * 1024 * 1024;
/**
 * What tabi's log must say of a mode's tunnels: the protocol (SOCKS records carry `version`, HTTP ones `method`) and
 * whether TLS carried it (the `tls` field).
 */
const EXPECTED: Record<string, { version?: string; method?: string; tls: boolean }> = {
  "s5+tls": { version: "5", tls: true },
  https: { method: "CONNECT", tls: true },
  http: { method: "CONNECT", tls: false },
};

/** The JSON log records tabi wrote so far. */
function records(tabi: TabiServe): Record<string, unknown>[] {
  return tabi.stderr().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
}

/** Waits until `count` records follow the first `from`, and checks each against the mode. */
async function checkRecords(tabi: TabiServe, from: number, count: number, mode: string): Promise<void> {
  for (let i = 0; i < 200 && records(tabi).length < from + count; i++) await new Promise((r) => setTimeout(r, 50));
  const mine = records(tabi).slice(from);
  assert.ok(mine.length >= count, `${mine.length} records for ${count} tunnels`);
  for (const record of mine) {
    assert.equal(record.version, EXPECTED[mode].version, JSON.stringify(record));
    assert.equal(record.method, EXPECTED[mode].method, JSON.stringify(record));
    assert.equal(record.outcome, "ok");
    assert.equal(record.tls !== undefined, EXPECTED[mode].tls, JSON.stringify(record));
  }
}

describe(`bench: socksbench's TLS modes against tabi serve --tls-cert under ${runtime}`, () => {
  let dir: string;
  let cert: BenchCert;
  let bench: Socksbench;
  let tabi: TabiServe;

  before(async () => {
    requirePeer("gcc");
    requirePeer("openssl");
    requirePeer("/usr/include/openssl/ssl.h");
    dir = mkdtempSync(join(tmpdir(), "tabi-bench-tls-"));
    cert = makeBenchCert(dir);
    bench = await startSocksbench({ ca: cert.ca });
    tabi = await startTabiServe(runtime, [
      "--listen",
      "127.0.0.1:0",
      "--log",
      "json",
      "--tls-cert",
      cert.cert,
      "--tls-key",
      cert.key,
    ]);
  });
  after(async () => {
    tabi?.kill("SIGKILL");
    await tabi?.exited;
    bench?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of Object.keys(EXPECTED)) {
    it(`${mode}: echo tunnels made, none failed`, async () => {
      const from = records(tabi).length;
      const result = await bench.run(["rate", tabi.proxy, bench.echo, "4", "1", mode]);
      assert.ok(result.completed > 0, `${mode}: ${JSON.stringify(result)}`);
      assert.equal(result.failures, 0);
      await checkRecords(tabi, from, result.completed, mode);
    });

    it(`${mode}: one tunnel carries ${BYTES} bytes to the sink`, async () => {
      const from = records(tabi).length;
      const result = await bench.run(["tput", tabi.proxy, bench.sink, String(BYTES), "1", mode]);
      assert.equal(result.failures, 0);
      assert.equal(result.bytes, BYTES);
      await checkRecords(tabi, from, 1, mode);
    });
  }

  it("a proxy certificate that the CA did not sign fails every TLS tunnel", async () => {
    const other = mkdtempSync(join(tmpdir(), "tabi-bench-tls-other-"));
    try {
      const stranger = makeBenchCert(other);
      const distrusting = await startSocksbench({ ca: stranger.ca });
      try {
        const result = await distrusting.run(["rate", tabi.proxy, distrusting.echo, "2", "1", "https"]);
        assert.equal(result.completed, 0);
        assert.ok(result.failures > 0);
      } finally {
        distrusting.stop();
      }
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
