/**
 * The handshake fuzzer of tests/server/fuzz_test.ts at scale: generated and mutated handshakes against two live
 * servers (anonymous, and with users), many at once, checking every answer against the protocol, with a good client
 * served between batches. Prints progress to stderr. Run through bench/fuzz.ts: `--parser handshakes`.
 *
 * @module
 */
import fc from "fast-check";
import { connect } from "../mod.ts";
import type { ConnectionRecord } from "../lib/server/connection_record.ts";
import { startServer } from "../lib/server/server.ts";
import { closedPort, echoServer, loopbackOnly, network } from "../tests/helpers/net.ts";
import { fuzzCases, protocolProblem, runCase } from "../tests/helpers/handshake_fuzz.ts";

const CONCURRENCY = 256;
const BATCH = 10_000;
const HANDSHAKE_TIMEOUT_MS = 250;

/** Throws `total` handshakes (from `seed`) at two live servers; answers the problems found. */
export async function fuzzHandshakes(total: number, seed: number): Promise<string[]> {
  const echo = await echoServer();
  // The server's view of recent connections, to tell a slow server from a slow process when a case goes wrong; only
  // the latest are kept, since a million records would make the garbage collector the bottleneck.
  const recent = new Map<string, ConnectionRecord>();
  const remember = (record: ConnectionRecord) => {
    recent.set(record.client, record);
    if (recent.size > 20_000) recent.delete(recent.keys().next().value!);
  };
  const options = {
    listen: [{ hostname: "127.0.0.1", port: 0 }],
    network: loopbackOnly(),
    handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    connectTimeoutMs: 500,
    resolveExtension: true,
    onConnectionEnd: remember,
  };
  const anonymous = await startServer(options);
  const withUsers = await startServer({ ...options, users: new Map([["alice", "s3cret"]]) });
  const endpointOf = (server: typeof anonymous) => server.addresses[0];
  const arbitrary = fuzzCases({ echoPort: echo.address.port, closedPort: await closedPort() });

  let done = 0;
  const problems: string[] = [];
  const started = Date.now();
  const hex = (bytes: Uint8Array) => [...bytes.subarray(0, 64)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  for (let start = 0; start < total; start += BATCH) {
    const cases = fc.sample(arbitrary, { numRuns: Math.min(BATCH, total - start), seed: seed + start });
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const index = next++;
        const useUsers = index % 2 === 1;
        const server = endpointOf(useUsers ? withUsers : anonymous);
        const outcome = await runCase(network, server, cases[index], HANDSHAKE_TIMEOUT_MS + 1000);
        const problem = protocolProblem(cases[index].bytes, outcome, useUsers ? [0x02] : [0x00]);
        if (problem) {
          const record = recent.get(outcome.client);
          const seen = record ? `server: ${record.outcome} after ${record.durationMs} ms` : "server: not ended yet";
          problems.push(`${problem}; sent ${hex(cases[index].bytes)} (finish ${cases[index].finish}); ${seen}`);
        }
        done++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // A good client between batches, byte for byte.
    const tunnel = await connect(`socks5h://127.0.0.1:${endpointOf(anonymous).port}`, `localhost:${echo.address.port}`);
    const writer = tunnel.writable.getWriter();
    await writer.write(new Uint8Array([1, 2, 3]));
    await writer.close();
    const echoed = new Uint8Array(await new Response(tunnel.readable).arrayBuffer());
    tunnel.close();
    if (echoed.join() !== "1,2,3") problems.push(`good client got ${echoed.join()}`);
    const rate = done / ((Date.now() - started) / 1000);
    console.error(`${done} cases, ${problems.length} problems, ${rate.toFixed(0)} cases/s`);
  }
  await anonymous.close();
  await withUsers.close();
  await echo.close();
  return problems;
}
