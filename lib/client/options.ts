/**
 * Options every client call takes, and how proxies and destinations may be named.
 *
 * @module
 */
import type { Network, StreamTlsClient } from "../net/network.ts";
import type { HostPort } from "../wire/address.ts";
import type { ProxySpec } from "./proxy_url.ts";
import type { GssApiClientOptions } from "./gssapi_negotiate.ts";
import type { LocalAddresses } from "../net/connect_any.ts";

/** A proxy: a URL (`socks5h://127.0.0.1:1080`) or a parsed {@link ProxySpec}. */
export type ProxyInput = string | ProxySpec;

/** One proxy, or a chain: each hop is reached through the ones before it. */
export type ProxyChainInput = ProxyInput | readonly ProxyInput[];

/** A destination: `host:port`, `[ipv6]:port`, or a HostPort. */
export type DestinationInput = string | HostPort;

/** Options of the client calls. */
export interface ClientOptions {
  /** The runtime adapter; the package root's calls default to the running runtime's, lib/client's need one. */
  readonly network?: Network;
  /**
   * Let `socks4://` and `socks5://` proxies resolve destination names on this machine. Off by default: such a
   * lookup tells the local DNS where you are going (a DNS leak), so it is an error unless allowed.
   */
  readonly allowLocalDns?: boolean;
  /** The local resolver, for the lookups that are allowed (the first proxy's own name, allowLocalDns). */
  readonly resolve?: (hostname: string) => Promise<string[]>;
  /** Time for connecting and every hop's handshake, in ms. Default 30 000. */
  readonly timeoutMs?: number;
  /**
   * Happy Eyeballs (RFC 8305) for a first proxy given by name: the next of its addresses is tried too once the
   * previous attempt has been pending this long (or at once when it failed). In ms, 10 to 2000; default 250.
   */
  readonly connectAttemptDelayMs?: number;
  /**
   * The source address of the connection to the first proxy, per family (a server's outbound addresses); with
   * it, a first proxy's address of a family without one is not tried.
   */
  readonly localAddress?: LocalAddresses;
  /** Aborting gives up: during setup it rejects the call; afterwards it closes the tunnel. */
  readonly signal?: AbortSignal;
  /**
   * Authenticate to SOCKS5 proxies with GSS-API (RFC 1961, Kerberos) from the caller's credential cache; such a
   * hop is offered no other method. Get `gss` from `loadGssApi()`.
   */
  readonly gssapi?: GssApiClientOptions;
  /**
   * PEM text of CA certificates to trust, besides the runtime's own store, for the certificates of TLS proxies
   * (`https://`, `socks5h+tls://`, ...); curl's `--proxy-cacert`.
   */
  readonly proxyCa?: string;
  /**
   * The TLS client for TLS proxies (a hop inside a chain is TLS inside the previous hop's tunnel). The package root
   * fills in the running runtime's (node:tls over the streams in Deno, Bun and Node); lib/client's calls need one
   * for a TLS hop, unless the first hop's connection can start TLS in place.
   */
  readonly tlsClient?: StreamTlsClient;
}

/** The default setup timeout of client calls. */
export const DEFAULT_CLIENT_TIMEOUT_MS = 30_000;

/** ClientOptions with the Network named: what lib/client's calls take (the package root fills it in). */
export type NetworkClientOptions = ClientOptions & { readonly network: Network };
