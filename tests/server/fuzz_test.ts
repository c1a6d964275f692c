/**
 * Thousands of generated and mutated handshakes of every version thrown at two live servers (anonymous, and with
 * users), many at once: each ends in a protocol-correct reply or a close within the negotiation timeout, the server
 * keeps running, and a good client is served correctly between batches and after.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { connect } from "../../mod.ts";
import { closedPort, echoServer, loopbackOnly, network, testServer } from "../helpers/net.ts";
import { fuzzCases, protocolProblem, runCase } from "../helpers/handshake_fuzz.ts";
import { payload, sameBytes } from "../helpers/targets.ts";

const CASES = 3000;
const CONCURRENCY = 64;
const BATCH = 250;
const HANDSHAKE_TIMEOUT_MS = 400;

type Server = Awaited<ReturnType<typeof testServer>>;

const hex = (bytes: Uint8Array) => [...bytes.subarray(0, 80)].map((b) => b.toString(16).padStart(2, "0")).join(" ");

describe("fuzzed handshakes against a live server", () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let anonymous: Server;
  let withUsers: Server;
  before(async () => {
    echo = await echoServer();
    const options = {
      network: loopbackOnly(),
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      connectTimeoutMs: 1000,
      resolveExtension: true,
    };
    anonymous = await testServer(options);
    withUsers = await testServer({ ...options, users: new Map([["alice", "s3cret"]]) });
  });
  after(async () => {
    await anonymous.close();
    await withUsers.close();
    await echo.close();
  });

  /** A good client through both servers, byte for byte. */
  async function goodClientIsServed(): Promise<void> {
    const data = payload(64 * 1024, 21);
    for (
      const proxy of [
        `socks5h://${"127.0.0.1"}:${anonymous.endpoint.port}`,
        `socks5h://alice:s3cret@127.0.0.1:${withUsers.endpoint.port}`,
      ]
    ) {
      const tunnel = await connect(proxy, `localhost:${echo.address.port}`);
      const writer = tunnel.writable.getWriter();
      const writing = writer.write(data).then(() => writer.close());
      const echoed = new Uint8Array(await new Response(tunnel.readable).arrayBuffer());
      await writing;
      tunnel.close();
      assert.ok(sameBytes(echoed, data), `good client through ${proxy}: ${echoed.length} bytes back`);
    }
  }

  it(`${CASES} cases: protocol-correct answers or a close, and the server keeps serving`, async () => {
    const seed = Date.now() % 2 ** 31;
    const cases = fc.sample(fuzzCases({ echoPort: echo.address.port, closedPort: await closedPort() }), {
      numRuns: CASES,
      seed,
    });
    const problems: string[] = [];
    const sentBy = new Map<string, string>();
    for (let start = 0; start < cases.length; start += BATCH) {
      const batch = cases.slice(start, start + BATCH);
      let next = 0;
      const worker = async () => {
        while (next < batch.length) {
          const index = next++;
          const fuzz = batch[index];
          const useUsers = (start + index) % 2 === 1;
          const server = useUsers ? withUsers : anonymous;
          const outcome = await runCase(network, server.endpoint, fuzz, HANDSHAKE_TIMEOUT_MS + 1000);
          sentBy.set(outcome.client, `${hex(fuzz.bytes)} (finish ${fuzz.finish})`);
          const problem = protocolProblem(fuzz.bytes, outcome, useUsers ? [0x02] : [0x00]);
          if (problem) {
            problems.push(
              `${problem}; sent ${hex(fuzz.bytes)} (finish ${fuzz.finish}); got ${outcome.received.length} bytes`,
            );
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      await goodClientIsServed();
    }
    assert.deepEqual(problems.slice(0, 10), [], `seed ${seed}: ${problems.length} problems`);
    // Every connection ended and was logged; nothing is left open.
    const until = Date.now() + 10_000;
    while ((anonymous.activeConnections > 0 || withUsers.activeConnections > 0) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const logged = new Set([...anonymous.records, ...withUsers.records].map((r) => r.client));
    const unlogged = [...sentBy].filter(([client]) => !logged.has(client)).map(([, sent]) => sent);
    assert.equal(
      anonymous.activeConnections + withUsers.activeConnections,
      0,
      `connections left open; cases never logged:\n${unlogged.slice(0, 10).join("\n")}`,
    );
    assert.ok(anonymous.records.length + withUsers.records.length >= CASES);
    await goodClientIsServed();
  });
});
