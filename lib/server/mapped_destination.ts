/**
 * A destination given as an address the DNS port mapped, turned back into its name: the one place this happens, right
 * where a request's destination is settled (the SOCKS session after its handshake, the HTTP side once the target is
 * parsed), so that rules, protected ranges, limits, safe-socks, the log and the route all see the name, and an
 * upstream gets the name to resolve.
 *
 * @module
 */
import { formatHostPort } from "../wire/address.ts";
import { SocksError } from "../wire/socks_error.ts";
import type { ServerConfig } from "./config.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import type { ClientRequest } from "./handshake.ts";
import { recordDestination } from "./request_record.ts";

/**
 * The request with a mapped destination address replaced by its name (`mapped` says which family it arrived as) and
 * the name held for the tunnel (see {@link releaseMapped}); any other request as it is. Throws SocksError
 * "host-unreachable" (SOCKS5 0x04, SOCKS4 91, HTTP 502) for an address in a mapped range that no name has: a stale
 * address from a cache that outlived the map, which nothing can turn back into where the client meant to go.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NameMap } from "./name_map.ts";
 * import { unmapRequest } from "./mapped_destination.ts";
 * const nameMap = new NameMap();
 * const host = nameMap.addressFor("example.org", "ipv4")!;
 * const request = { version: 5, command: "connect", user: undefined, destination: { address: { type: "ipv4", host }, port: 80 } } as const;
 * assert.deepEqual(unmapRequest({ nameMap }, request).destination.address, { type: "domain", host: "example.org" });
 * ```
 */
export function unmapRequest(config: Pick<ServerConfig, "nameMap">, request: ClientRequest): ClientRequest {
  const { nameMap } = config;
  const { address, port } = request.destination;
  // Only CONNECT and HTTP name a destination to reach: BIND's address is the peer expected to connect back, UDP
  // ASSOCIATE's the client's own (its datagrams to a mapped range are dropped: udp_associate.ts).
  const reaches = request.command === "connect" || request.command === "http";
  if (nameMap === undefined || !reaches || address.type === "domain" || !nameMap.inRange(address.host)) return request;
  const name = nameMap.nameFor(address.host);
  if (name === undefined) {
    throw new SocksError(
      "host-unreachable",
      `${formatHostPort(request.destination)} is in the DNS port's mapped range but no name is mapped to it`,
    );
  }
  nameMap.acquire(name);
  return { ...request, destination: { address: { type: "domain", host: name }, port }, mapped: address.type };
}

/** Lets the map evict the name a request {@link unmapRequest} turned back, once its tunnel or exchange ended. */
export function releaseMapped(config: Pick<ServerConfig, "nameMap">, request: ClientRequest | undefined): void {
  if (request?.mapped !== undefined) config.nameMap?.release(request.destination.address.host);
}

/**
 * {@link unmapRequest}, then the record's destination fields from what came of it (from the request as it arrived
 * when it is refused): for the HTTP side, whose destination is settled per request.
 */
export function settleRequest(
  config: Pick<ServerConfig, "nameMap">,
  record: ConnectionRecord,
  request: ClientRequest,
): ClientRequest {
  let settled = request;
  try {
    settled = unmapRequest(config, request);
  } finally {
    recordDestination(record, settled.destination, settled.mapped);
  }
  return settled;
}
