/**
 * One core, three runtimes, talking to each other: the runtime running this file serves and connects in process,
 * and `tabi serve` / `tabi connect` / `tabi resolve` run under each of Deno, Bun and Node as child processes. Run
 * under all three, the suite covers every (server runtime, client runtime) pair both ways.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect, resolve as resolveThroughProxy, type SocksServer, startServer } from "../../mod.ts";
import type { Listener } from "../../lib/net/network.ts";
import { type RuntimeName, runtimeName } from "../../lib/runtime/detect.ts";
import { readAll } from "../helpers/bytes.ts";
import { echoServer } from "../helpers/net.ts";
import { cliCommandFor, run } from "../helpers/process.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";
import { payload, sameBytes } from "../helpers/targets.ts";

const RUNTIMES: readonly RuntimeName[] = ["deno", "bun", "node"];
const here = runtimeName();

/** Sends `data` through a tunnel to the echo server, half-closes, and reads the echo to its end. */
async function echoThrough(proxy: string, port: number, data: Uint8Array): Promise<Uint8Array> {
  const tunnel = await connect(proxy, `localhost:${port}`);
  const writer = tunnel.writable.getWriter();
  const writing = writer.write(data).then(() => writer.close());
  const all = await readAll(tunnel.readable);
  await writing;
  tunnel.close();
  return all;
}

describe(`tabi across runtimes (this side: ${here})`, () => {
  let echo: Listener;
  let server: SocksServer;
  let proxy: string;
  before(async () => {
    echo = await echoServer();
    server = await startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }], resolveExtension: true });
    proxy = `127.0.0.1:${server.addresses[0].port}`;
  });
  after(async () => {
    await server.close();
    await echo.close();
  });

  for (const other of RUNTIMES) {
    it(`a ${here} client through tabi serve under ${other}: SOCKS5h, SOCKS4a and RESOLVE`, async () => {
      const child = await startTabiServe(other, ["--listen", "127.0.0.1:0", "--resolve-extension", "--quiet"]);
      try {
        const data = payload(4 << 20, 11);
        for (const scheme of ["socks5h", "socks4a"]) {
          const echoed = await echoThrough(`${scheme}://${child.proxy}`, echo.address.port, data);
          assert.ok(sameBytes(echoed, data), `${scheme} through ${other}: ${echoed.length} bytes back`);
        }
        const resolved = await resolveThroughProxy(`socks5h://${child.proxy}`, "localhost");
        assert.match(resolved.host, /^(127\.0\.0\.1|::1)$/);
      } finally {
        child.kill("SIGKILL");
        await child.exited;
      }
    });

    it(`tabi connect under ${other} through a ${here} server: stdin's end is passed on, the echo comes back`, async () => {
      const [command, prefix] = cliCommandFor(other);
      const data = payload(1 << 20, 12);
      const result = await run(
        command,
        [...prefix, "connect", "--proxy", `socks5h://${proxy}`, "localhost", String(echo.address.port)],
        { input: data, timeoutMs: 30_000 },
      );
      assert.equal(result.code, 0, result.stderr);
      // The echo server ends its side only after reading stdin's end, so a full echo proves the half-close.
      assert.ok(sameBytes(result.stdout, data), `${result.stdout.length} bytes back`);
      const resolved = await run(command, [...prefix, "resolve", "--proxy", `socks5h://${proxy}`, "localhost"], {
        timeoutMs: 30_000,
      });
      assert.equal(resolved.code, 0, resolved.stderr);
      assert.match(new TextDecoder().decode(resolved.stdout), /^(127\.0\.0\.1|::1)\n$/);
    });
  }
});
