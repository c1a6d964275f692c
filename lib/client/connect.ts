/**
 * CONNECT through a proxy or a chain: the tunnel every other protocol (TLS, HTTP, SSH) runs on.
 *
 * @module
 */
import { Socks5Command } from "../wire/constants.ts";
import { parseDestination, throughChain } from "./chain.ts";
import type { DestinationInput, NetworkClientOptions, ProxyChainInput } from "./options.ts";
import { type Tunnel, tunnelFrom } from "./tunnel.ts";

/**
 * Opens a tunnel to `destination` through `proxy` (a URL, or a list of them for a chain).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNetwork } from "../runtime/detect.ts";
 * import { connect } from "./connect.ts";
 * const network = await defaultNetwork();
 * // socks5:// would resolve the name here and leak it to the local DNS: refused unless allowed.
 * await assert.rejects(connect("socks5://127.0.0.1:1", "example.com:443", { network }), { code: "dns-leak" });
 * ```
 */
export function connect(
  proxy: ProxyChainInput,
  destination: DestinationInput,
  options: NetworkClientOptions,
): Promise<Tunnel> {
  const target = parseDestination(destination);
  return throughChain(proxy, options, async (hop) => {
    const bound = await hop.request(Socks5Command.Connect, target);
    return tunnelFrom(hop, bound, options.signal);
  }, target);
}
