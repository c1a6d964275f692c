/**
 * The DNS-leak policy of the client: a destination name reaches the local resolver only where the proxy URL says
 * (socks4://, socks5://) and the caller allowed it; socks4a:// and socks5h:// hand names to the proxy.
 *
 * @module
 */
import { ipAddress } from "../net/endpoint.ts";
import type { Address, HostPort } from "../wire/address.ts";
import { SocksError } from "../wire/socks_error.ts";
import type { ClientOptions } from "./options.ts";
import { formatProxy, type ProxySpec } from "./proxy_url.ts";

/**
 * A destination as this proxy should receive it: names stay names for socks4a/socks5h; for socks4/socks5 they
 * are resolved here only if allowed (else a "dns-leak" error); SOCKS4 gets IPv4 only.
 */
export async function prepareDestination(
  proxy: ProxySpec,
  target: HostPort,
  options: ClientOptions,
  lookup: (name: string) => Promise<string[]>,
): Promise<HostPort> {
  checkPolicy(proxy, target, options);
  let address: Address = target.address;
  if (address.type === "domain" && !proxy.remoteDns) {
    const found = (await lookup(address.host)).map(ipAddress).filter((a) => a !== undefined) as Address[];
    const usable = proxy.version === 4 ? found.filter((a) => a.type === "ipv4") : found;
    if (usable.length === 0) throw new SocksError("host-unreachable", `"${address.host}" has no usable address`);
    address = usable[0];
  }
  if (proxy.version === 4 && address.type === "ipv6") throw noIpv6(address.host);
  return { address, port: target.port };
}

/** Throws "dns-leak" if this proxy would need `target`'s name resolved here without permission; no lookup. */
export function checkPolicy(proxy: ProxySpec, target: HostPort, options: ClientOptions): void {
  const { address } = target;
  if (address.type === "domain" && !proxy.remoteDns && !options.allowLocalDns) {
    const safer = proxy.version === 4 ? "socks4a://" : "socks5h://";
    throw new SocksError(
      "dns-leak",
      `${formatProxy(proxy)} would resolve "${address.host}" on this machine, telling the local DNS where you go; ` +
        `use ${safer} so the proxy resolves it, or allow local resolution`,
    );
  }
  if (proxy.version === 4 && address.type === "ipv6") throw noIpv6(address.host);
}

/** The error for an IPv6 destination given to a SOCKS4 proxy, which has no way to carry it. */
export function noIpv6(host: string): SocksError {
  return new SocksError("bad-address-type", `SOCKS4 cannot carry the IPv6 address ${host}; use socks5`);
}
