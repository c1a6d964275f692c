/**
 * `@tabi/socks/wire`: the sans-I/O codecs, as plain functions from bytes to typed messages and back, of eight
 * message families: SOCKS4 and 4a requests and replies; SOCKS5 method negotiation (RFC 1928 section 3); SOCKS5
 * requests and replies (RFC 1928 sections 4-6, Tor's RESOLVE included); username/password (RFC 1929); the SOCKS5 UDP
 * header (RFC 1928 section 7) and UDP fragmentation (the same section); GSS-API message framing (RFC 1961); IDENT
 * queries and responses (RFC 1413); and the PROXY protocol header (v1 text, v2 binary). With them, the addresses,
 * constants and {@link SocksError} they share, and the {@link ByteReader} that feeds them from a stream. Decoders say
 * how many more bytes they need instead of assuming whole messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteReader, decodeSocks5Request, encodeSocks5Request, Socks5Command } from "./wire.ts";
 *
 * const bytes = encodeSocks5Request({
 *   command: Socks5Command.Connect,
 *   destination: { address: { type: "domain", host: "example.org" }, port: 443 },
 * });
 * // Half a message: the decoder asks for more instead of failing.
 * assert.equal(decodeSocks5Request(bytes.subarray(0, 5)).done, false);
 * const reader = new ByteReader(ReadableStream.from([bytes.subarray(0, 5), bytes.subarray(5)]));
 * const request = await reader.read(decodeSocks5Request);
 * assert.deepEqual(request.destination, { address: { type: "domain", host: "example.org" }, port: 443 });
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
export * from "./lib/wire/socks5_udp_fragments.ts";
export * from "./lib/wire/userpass.ts";
export * from "./lib/wire/proxy_protocol.ts";
export * from "./lib/wire/ident.ts";
export * from "./lib/wire/gssapi.ts";
export * from "./lib/io/byte_reader.ts";
export type { ByteSource } from "./lib/io/byte_source.ts";
