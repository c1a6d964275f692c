/**
 * Tor's RESOLVE (0xF0) and RESOLVE_PTR (0xF1): ask the proxy to look a name up, so this machine never does.
 *
 * @module
 */
import { type Address, parseAddress } from "../wire/address.ts";
import { Socks5Command } from "../wire/constants.ts";
import { SocksError } from "../wire/socks_error.ts";
import { proxyList, throughChain } from "./chain.ts";
import type { NetworkClientOptions, ProxyChainInput } from "./options.ts";

/**
 * Resolves `name` on the proxy (SOCKS5 RESOLVE) and returns the address it answers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNetwork } from "../runtime/detect.ts";
 * import { resolve } from "./resolve.ts";
 * const network = await defaultNetwork();
 * await assert.rejects(resolve("socks4a://127.0.0.1:1", "example.com", { network }), { code: "unsupported" });
 * ```
 */
export function resolve(proxy: ProxyChainInput, name: string, options: NetworkClientOptions): Promise<Address> {
  if (proxyList(proxy).at(-1)!.version !== 5) {
    return Promise.reject(new SocksError("unsupported", "RESOLVE needs a SOCKS5 proxy"));
  }
  return throughChain(proxy, options, async (hop) => {
    const bound = await hop.request(Socks5Command.Resolve, { address: { type: "domain", host: name }, port: 0 });
    hop.connection.close();
    return bound.address;
  });
}

/** Asks the proxy for the name of `address` (SOCKS5 RESOLVE_PTR). */
export function resolvePtr(proxy: ProxyChainInput, address: string, options: NetworkClientOptions): Promise<string> {
  const parsed = parseAddress(address);
  if (parsed.type === "domain") {
    return Promise.reject(new SocksError("bad-address", `"${address}" is not an IP address`));
  }
  return throughChain(proxy, options, async (hop) => {
    if (hop.proxy.version !== 5) throw new SocksError("unsupported", "RESOLVE_PTR needs a SOCKS5 proxy");
    const bound = await hop.request(Socks5Command.ResolvePtr, { address: parsed, port: 0 });
    hop.connection.close();
    return bound.address.host;
  });
}
