/** The socket adapters of the running runtime, and a listener whose connections are taken in order: for adapter tests. */
import type { Connection, Network } from "../../lib/net/network.ts";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { nodeNetwork } from "../../lib/runtime/node/network.ts";

/** The running runtime's own adapter (Deno, Bun) first, then `node:net`'s, which all three implement. */
export async function socketAdapters(): Promise<[string, Network][]> {
  const adapters: [string, Network][] = [["node", nodeNetwork()]];
  if (runtimeName() === "deno") {
    adapters.unshift(["deno", (await import("../../lib/runtime/deno/network.ts")).denoNetwork()]);
  }
  if (runtimeName() === "bun") {
    adapters.unshift(["bun", (await import("../../lib/runtime/bun/network.ts")).bunNetwork()]);
  }
  return adapters;
}

/** A listener on `hostname` whose accepted connections come out of `accept()` in order. */
export async function listenerOn(network: Network, hostname = "127.0.0.1") {
  const waiting: ((connection: Connection) => void)[] = [];
  const arrived: Connection[] = [];
  const listener = await network.listen({ hostname, port: 0 }, (connection) => {
    const taker = waiting.shift();
    if (taker) taker(connection);
    else arrived.push(connection);
  });
  const accept = () =>
    arrived.length > 0 ? Promise.resolve(arrived.shift()!) : new Promise<Connection>((r) => waiting.push(r));
  return { listener, accept };
}
