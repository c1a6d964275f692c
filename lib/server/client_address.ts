/**
 * Who the client is. A connection from a trusted load balancer (a peer inside one of the `proxyProtocol` ranges)
 * must start with a PROXY header, and the header's source address becomes the client for rules, limits, BIND and
 * UDP checks and logs. From any other peer no header is read at all: its bytes go to the SOCKS handshake, which
 * refuses "PROXY ..." or the v2 signature as malformed, so nobody can forge a client address.
 *
 * @module
 */
import { type Cidr, cidrContains } from "../net/cidr.ts";
import type { ByteReader } from "../io/byte_reader.ts";
import type { Connection, Endpoint } from "../net/network.ts";
import { decodeProxyHeader, startsProxyHeader } from "../wire/proxy_protocol.ts";
import { SocksError } from "../wire/socks_error.ts";
import { formatEndpoint } from "../net/endpoint.ts";

/** True when `peer` is a balancer whose PROXY headers are believed. */
export function isTrustedPeer(peer: Endpoint, trusted: readonly Cidr[]): boolean {
  return trusted.some((range) => cidrContains(range, peer.hostname));
}

/**
 * The client of `connection`: from the PROXY header when the peer is trusted (a malformed or missing header
 * throws a SocksError "bad-proxy-header"), its own remote address otherwise. A header without addresses (v1
 * UNKNOWN, v2 LOCAL: the balancer's health check) leaves the balancer as the client.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteReader } from "../io/byte_reader.ts";
 * import { parseCidr } from "../net/cidr.ts";
 * import { readClientAddress } from "./client_address.ts";
 * const bytes = new TextEncoder().encode("PROXY TCP4 192.0.2.7 127.0.0.1 40000 1080\r\n");
 * const reader = new ByteReader(new Blob([bytes]).stream());
 * const balancer = { hostname: "127.0.0.1", port: 51000 };
 * const client = await readClientAddress(reader, balancer, [parseCidr("127.0.0.0/8")]);
 * assert.deepEqual(client, { hostname: "192.0.2.7", port: 40000 });
 * ```
 */
export async function readClientAddress(
  reader: ByteReader,
  peer: Endpoint,
  trusted: readonly Cidr[],
): Promise<Endpoint> {
  if (!isTrustedPeer(peer, trusted)) return peer;
  const header = await reader.read(decodeProxyHeader);
  return header.source ?? peer;
}

/**
 * Refuses a PROXY header from a peer that is not trusted (its first bytes would otherwise go to the SOCKS or HTTP
 * parser, and HTTP would wait for the rest of a "request"). Reads nothing past what it looks at.
 */
export async function refuseUntrustedHeader(reader: ByteReader, peer: Endpoint): Promise<void> {
  const first = await reader.peekByte();
  // Only "P" and CR can start a header: every other first byte goes on at once.
  if (first !== 0x50 && first !== 0x0d) return;
  if (await reader.read(startsProxyHeader)) {
    throw new SocksError(
      "bad-proxy-header",
      `a PROXY header from ${formatEndpoint(peer)}, which is not a trusted balancer (proxyProtocol): refused`,
    );
  }
}

/**
 * The same connection, seen as coming from `client`: everything else is the connection's own, asked for when used
 * (the streams are not made here: a handshake may be reading the socket directly, io/byte_source.ts), so the native
 * relay, a reset and a TLS upgrade work behind a balancer as they do without one.
 */
export function withClientAddress(connection: Connection, client: Endpoint): Connection {
  if (client === connection.remoteAddress) return connection;
  return new ClientAddressed(connection, client);
}

/** A connection with the client address a PROXY header named. */
class ClientAddressed implements Connection {
  readonly remoteAddress: Endpoint;
  readonly #inner: Connection;

  constructor(inner: Connection, client: Endpoint) {
    this.#inner = inner;
    this.remoteAddress = client;
  }

  get readable(): ReadableStream<Uint8Array> {
    return this.#inner.readable;
  }

  get writable(): WritableStream<Uint8Array> {
    return this.#inner.writable;
  }

  get localAddress(): Endpoint {
    return this.#inner.localAddress;
  }

  get native(): Connection["native"] {
    return this.#inner.native;
  }

  get tlsProtocol(): string | undefined {
    return this.#inner.tlsProtocol;
  }

  get upgradeToTlsServer(): Connection["upgradeToTlsServer"] {
    const inner = this.#inner;
    return inner.upgradeToTlsServer && ((settings, released) => inner.upgradeToTlsServer!(settings, released));
  }

  close(): void {
    this.#inner.close();
  }

  reset(): void {
    const inner = this.#inner;
    (inner.reset ?? inner.close).call(inner);
  }
}
