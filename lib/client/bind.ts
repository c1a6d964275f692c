/**
 * BIND through a proxy: the proxy listens for one incoming connection (FTP-style) and reports where, then the
 * peer that connects becomes the tunnel.
 *
 * @module
 */
import { endpointToHostPort, isUnspecified } from "../net/endpoint.ts";
import type { HostPort } from "../wire/address.ts";
import { Socks5Command } from "../wire/constants.ts";
import { parseDestination, throughChain } from "./chain.ts";
import type { DestinationInput, NetworkClientOptions, ProxyChainInput } from "./options.ts";
import { type Tunnel, tunnelFrom } from "./tunnel.ts";

/** A BIND in progress. */
export interface Binding {
  /** Where the proxy listens: tell the peer to connect here. */
  readonly bound: HostPort;
  /** The tunnel once the peer connected; its `bound` is the peer's address. */
  readonly accepted: Promise<Tunnel>;
  /** Gives up waiting. */
  close(): void;
}

/**
 * Asks the proxy to listen for a connection from `peer` (`0.0.0.0:0` for any peer).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNetwork } from "../runtime/detect.ts";
 * import { bind } from "./bind.ts";
 * const network = await defaultNetwork();
 * await assert.rejects(bind("socks5://127.0.0.1:1", "0.0.0.0:0", { network, timeoutMs: 2000 }));
 * ```
 */
export function bind(proxy: ProxyChainInput, peer: DestinationInput, options: NetworkClientOptions): Promise<Binding> {
  const target = parseDestination(peer);
  return throughChain(proxy, options, async (hop) => {
    let bound = await hop.request(Socks5Command.Bind, target);
    // A proxy that answers 0.0.0.0 means "my own address" (SOCKS4 text); use the address we reached it at.
    if (bound.address.type !== "domain" && isUnspecified(bound.address.host) && hop.hop === 1) {
      bound = { address: endpointToHostPort(hop.connection.remoteAddress).address, port: bound.port };
    }
    const accepted = hop.nextReply().then(
      (peerAddress) => tunnelFrom(hop, peerAddress, options.signal),
      (error) => {
        hop.connection.close();
        throw error;
      },
    );
    // Nobody may be listening for `accepted` yet; a rejection is reported when they do.
    accepted.catch(() => {});
    return { bound, accepted, close: () => hop.connection.close() };
  }, target);
}
