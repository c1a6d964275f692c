/**
 * What a complete request adds to its connection's log record: the version as 4, 4a or 5, who (checked user,
 * unchecked label or SOCKS4 USERID), and the destination written so it reads back without ambiguity.
 *
 * @module
 */
import type { HostPort } from "../wire/address.ts";
import type { ServerConfig } from "./config.ts";
import type { ConnectionRecord, RecordVersion } from "./connection_record.ts";
import type { ClientRequest } from "./handshake.ts";

/** "4", "4a" or "5": SOCKS4 with a name (the 0.0.0.x marker) is SOCKS4a; with a mapped address, it is SOCKS4. */
export function requestVersion(request: Pick<ClientRequest, "version" | "destination" | "mapped">): RecordVersion {
  if (request.version === 5) return "5";
  return request.destination.address.type === "domain" && request.mapped === undefined ? "4a" : "4";
}

/**
 * `host:port` with any host holding a colon in brackets: an IPv6 address, and also a "name" that is an IPv6
 * literal (some browsers send `::1` as a domain name), which would otherwise read as `::1:9`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDestination } from "./request_record.ts";
 * assert.equal(formatDestination({ address: { type: "domain", host: "::1" }, port: 9 }), "[::1]:9");
 * assert.equal(formatDestination({ address: { type: "domain", host: "example.org" }, port: 80 }), "example.org:80");
 * ```
 */
export function formatDestination(destination: HostPort): string {
  const { host } = destination.address;
  return `${host.includes(":") ? `[${host}]` : host}:${destination.port}`;
}

/** Fills in the record's request fields. */
export function recordRequest(record: ConnectionRecord, request: ClientRequest, config: ServerConfig): void {
  record.version = requestVersion(request);
  record.command = request.command;
  // A SOCKS4 USERID is a user only when the server checked it as one; otherwise it is what the client sent.
  const checked = request.version === 5 || config.socks4 === "userid";
  if (request.user !== undefined) {
    if (checked) record.user = request.user;
    else record.userId = request.user;
  }
  if (request.label !== undefined) record.label = request.label;
  recordDestination(record, request.destination, request.mapped);
}

/**
 * Fills in the record's destination fields: joined, host and port apart, and how it arrived (`mapped`: as an address
 * of that family the DNS port mapped to the destination's name).
 */
export function recordDestination(record: ConnectionRecord, destination: HostPort, mapped?: "ipv4" | "ipv6"): void {
  record.destination = formatDestination(destination);
  record.destinationHost = destination.address.host;
  record.destinationPort = destination.port;
  record.addressType = mapped === undefined ? destination.address.type : `mapped-${mapped}`;
}
