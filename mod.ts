/**
 * tabi: a SOCKS4/4a/5 toolkit. One protocol core over WHATWG byte streams, a server, wire codecs, and runtime
 * adapters for Deno, Bun and Node.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSocks5Request, startServer } from "./mod.ts";
 *
 * const server = await startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }] });
 * assert.equal(server.addresses[0].hostname, "127.0.0.1");
 * await server.close();
 *
 * const bytes = encodeSocks5Request({ command: 1, destination: { address: { type: "domain", host: "a.io" }, port: 80 } });
 * assert.equal(bytes[3], 0x03);
 * ```
 *
 * @module
 */
export * from "./lib/wire/constants.ts";
export * from "./lib/wire/socks_error.ts";
export * from "./lib/wire/decoded.ts";
export * from "./lib/wire/address.ts";
export * from "./lib/wire/socks4.ts";
export * from "./lib/wire/socks5_greeting.ts";
export * from "./lib/wire/socks5_request.ts";
export * from "./lib/wire/socks5_udp.ts";
export * from "./lib/wire/userpass.ts";
export * from "./lib/io/byte_reader.ts";
export type * from "./lib/net.ts";
export * from "./lib/relay.ts";
export * from "./lib/server/auth.ts";
export * from "./lib/server/config.ts";
export * from "./lib/server/connection_record.ts";
export * from "./lib/server/rules.ts";
export * from "./lib/server/server.ts";
export { defaultNetwork, type RuntimeName, runtimeName } from "./lib/runtime/detect.ts";
export { VERSION } from "./lib/version.ts";
export * from "./lib/cidr.ts";
export * from "./lib/client/proxy_url.ts";
export * from "./lib/client/options.ts";
export * from "./lib/client/tunnel.ts";
export { connect } from "./lib/client/connect.ts";
export { bind, type Binding } from "./lib/client/bind.ts";
export { associate, type RelayedDatagram, type UdpAssociation } from "./lib/client/associate.ts";
export { resolve, resolvePtr } from "./lib/client/resolve.ts";
export { type EnvLookup, noProxyMatches, proxyFromEnv } from "./lib/client/env.ts";
export * from "./lib/server/limits.ts";
export * from "./lib/server/safe_socks.ts";
export * from "./lib/server/any_credentials.ts";
export * from "./lib/audit/audit.ts";
export * from "./lib/audit/audit_site.ts";
export * from "./lib/audit/dns_responder.ts";
export * from "./lib/audit/recording_proxy.ts";
export * from "./lib/audit/report.ts";
export * from "./lib/audit/verdict.ts";
