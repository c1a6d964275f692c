/**
 * Name resolution through `node:dns`, which uses the system resolver (getaddrinfo, the hosts file included) in
 * Deno, Bun and Node alike. Deno's own `resolveDns` skips the hosts file, so `localhost` would not resolve.
 *
 * @module
 */
import type dnsModule from "node:dns";
import type netModule from "node:net";
import { toSocksError } from "../../net/net_error.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { builtinModule } from "./builtin_module.ts";

/** Resolves a name to IP literals in the system's order. An IP literal resolves to itself. */
export async function resolve(hostname: string): Promise<string[]> {
  if (builtinModule<typeof netModule>("node:net").isIP(hostname)) return [hostname];
  const dns = builtinModule<typeof dnsModule>("node:dns");
  try {
    const found = await dns.promises.lookup(hostname, { all: true, verbatim: true });
    if (found.length === 0) throw new SocksError("host-unreachable", `${hostname}: no address`);
    return found.map((entry) => entry.address);
  } catch (error) {
    throw toSocksError(error, `resolve ${hostname}`);
  }
}

/** Finds the name of an IP address with getnameinfo (the hosts file included). */
export async function reverse(address: string): Promise<string> {
  const dns = builtinModule<typeof dnsModule>("node:dns");
  try {
    const { hostname } = await dns.promises.lookupService(address, 0);
    return hostname;
  } catch (error) {
    throw toSocksError(error, `reverse-resolve ${address}`);
  }
}
