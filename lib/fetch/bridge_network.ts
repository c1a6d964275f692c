/**
 * The Network the fetch bridge runs on: every outbound connection the bridge opens goes through the SOCKS chain
 * (lib/client's chain code), and names are never looked up here. The bridge is an HTTP proxy that resolves a name
 * before it connects; this Network answers such a lookup with a stand-in address (a random IPv6 ULA, unique to this
 * instance) that it maps back to the name when the bridge connects to it, so the name itself goes to the SOCKS
 * proxy (socks4a, socks5h) or is refused with "dns-leak" (socks4, socks5 without allowLocalDns), redirects included.
 *
 * Each failure is remembered with its destination, so the fetch can reject with the SocksError itself instead of
 * the runtime's "bad gateway".
 *
 * @module
 */
import { ipAddress } from "../net/endpoint.ts";
import type { Connection, Network } from "../net/network.ts";
import type { HostPort } from "../wire/address.ts";
import { SocksError } from "../wire/socks_error.ts";
import { connect } from "../client/connect.ts";
import type { ClientOptions } from "../client/options.ts";
import type { ProxySpec } from "../client/proxy_url.ts";

/** A failure of the bridge's way to a destination, in order. */
export interface FetchFailure {
  /** Increases with every failure of this network. */
  readonly seq: number;
  /** `host:port` as {@link destinationKey} writes it. */
  readonly destination: string;
  /** What went wrong. */
  readonly error: SocksError;
}

/** The remembered failures, newest last (a bounded list). */
export interface FailureLog {
  /** The seq the next failure will get: failures of a call are those at or after its value at the call's start. */
  next(): number;
  /** The newest failure since `since`, for `destination` if one matches, else any. */
  find(since: number, destination?: string): FetchFailure | undefined;
}

/** A destination as the failure log names it: lower-case host (IPv6 without brackets) and port. */
export function destinationKey(host: string, port: number): string {
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  return `${bare.toLowerCase()}:${port}`;
}

const KEPT_FAILURES = 256;

/** The bridge's network and its failure log. */
export interface ChainNetwork {
  /** What the bridge listens and connects with. */
  readonly network: Network;
  /** Its failures. */
  readonly failures: FailureLog;
}

/**
 * A Network whose connections go through `chain`, reached on `inner`; listening is `inner`'s. Lookups answer
 * stand-in addresses (see the module doc), and UDP is not offered.
 */
export function chainNetwork(
  inner: Network,
  chain: readonly ProxySpec[],
  options: Pick<ClientOptions, "allowLocalDns" | "timeoutMs" | "proxyCa" | "tlsClient">,
): ChainNetwork {
  const prefix = standInPrefix();
  const names = new Map<string, string>();
  const standIns = new Map<string, string>();
  const kept: FetchFailure[] = [];
  let seq = 0;
  const standInFor = (name: string): string => {
    const key = name.toLowerCase();
    let address = standIns.get(key);
    if (address === undefined) {
      const n = names.size + 1;
      address = `${prefix}:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
      standIns.set(key, address);
      names.set(address, key);
    }
    return address;
  };
  const target = (hostname: string, port: number): HostPort => {
    const name = names.get(hostname);
    if (name !== undefined) return { address: { type: "domain", host: name }, port };
    const address = ipAddress(hostname);
    if (address === undefined) throw new SocksError("bad-address", `not an IP address: ${hostname}`);
    return { address, port };
  };
  const network: Network = {
    async connect({ hostname, port, signal }): Promise<Connection> {
      const destination = target(hostname, port);
      try {
        const tunnel = await connect(chain, destination, { ...options, network: inner, signal });
        return {
          readable: tunnel.readable,
          writable: tunnel.writable,
          localAddress: tunnel.localAddress,
          remoteAddress: tunnel.remoteAddress,
          close: () => tunnel.close(),
          reset: () => tunnel.reset(),
        };
      } catch (error) {
        const e = error instanceof SocksError ? error : new SocksError("failed", String(error), { cause: error });
        kept.push({ seq: seq++, destination: destinationKey(destination.address.host, port), error: e });
        if (kept.length > KEPT_FAILURES) kept.shift();
        throw e;
      }
    },
    listen: (listenOptions, onConnection) => inner.listen(listenOptions, onConnection),
    bindUdp: () => Promise.reject(new SocksError("unsupported", "the fetch bridge has no UDP")),
    resolve: (name) => Promise.resolve([standInFor(name)]),
    reverse: (address) => Promise.reject(new SocksError("unsupported", `no reverse lookup of ${address} here`)),
  };
  const failures: FailureLog = {
    next: () => seq,
    find(since, destination) {
      let any: FetchFailure | undefined;
      for (let i = kept.length - 1; i >= 0 && kept[i].seq >= since; i--) {
        if (destination === undefined || kept[i].destination === destination) return kept[i];
        any ??= kept[i];
      }
      return any;
    },
  };
  return { network, failures };
}

/** `fdXX:XXXX:XXXX:XXXX:XXXX:XXXX`: a random ULA /96 (six of the eight groups), so a stand-in never equals an address anyone asked for. */
function standInPrefix(): string {
  const words = new Uint16Array(6);
  crypto.getRandomValues(words);
  return `fd${(words[0] & 0xff).toString(16).padStart(2, "0")}:${
    [...words.subarray(1)].map((w) => w.toString(16))
      .join(":")
  }`;
}
