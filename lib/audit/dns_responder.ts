/**
 * The audit's DNS responder: it answers the audit site's name with the site's documentation addresses, every other
 * name with NXDOMAIN, and records every question it is asked. Run where the program's resolv.conf points at it,
 * a lookup it records is a lookup the program made itself.
 *
 * @module
 */
import type { Endpoint, ListenOptions, Network } from "../net/network.ts";
import { decodeDnsQuery, DnsRcode, DnsType, encodeDnsResponse } from "../wire/dns_message.ts";
import { type AuditSite, isAuditHost } from "./audit_site.ts";
import { boundedRecords } from "./bounded_records.ts";

/** One question the program asked. */
export interface DnsLookup {
  /** RFC 3339 UTC with milliseconds. */
  readonly time: string;
  /** The name as asked. */
  readonly name: string;
  /** "A", "AAAA", "HTTPS" ... or the type's number. */
  readonly type: string;
  /** The addresses answered (none: NXDOMAIN or no record of that type). */
  readonly answers: readonly string[];
}

/** A running responder. */
export interface DnsResponder {
  readonly address: Endpoint;
  /** The questions so far, in arrival order, as many as the audit keeps (lib/audit/bounded_records.ts). */
  readonly lookups: readonly DnsLookup[];
  /** How many questions were asked but not kept (a flood). */
  readonly lookupsDropped: number;
  close(): void;
}

const TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(DnsType).map(([name, code]) => [code, name]),
);

/**
 * Starts a responder on UDP `listen`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNetwork } from "../runtime/detect.ts";
 * import { newAuditSite } from "./audit_site.ts";
 * import { startDnsResponder } from "./dns_responder.ts";
 * const dns = await startDnsResponder(await defaultNetwork(), { hostname: "127.0.0.1", port: 0 }, newAuditSite());
 * assert.ok(dns.address.port > 0);
 * assert.deepEqual(dns.lookups, []);
 * dns.close();
 * ```
 */
export async function startDnsResponder(
  network: Network,
  listen: ListenOptions,
  site: AuditSite,
): Promise<DnsResponder> {
  const lookups = boundedRecords<DnsLookup>();
  const socket = await network.bindUdp(listen, ({ data, from }) => {
    let query;
    try {
      query = decodeDnsQuery(data);
    } catch {
      return; // Not a query we can read: nothing to record, nobody to answer sensibly.
    }
    const { name, type } = query.question;
    const ours = isAuditHost(site, name);
    const addresses = !ours ? [] : type === DnsType.A ? [site.ipv4] : type === DnsType.AAAA ? [site.ipv6] : [];
    const lookup = { time: new Date().toISOString(), name, type: TYPE_NAMES[type] ?? String(type), answers: addresses };
    lookups.add(lookup, ours);
    // The site's name exists (other types simply have no record); every other name does not.
    const rcode = ours ? DnsRcode.NoError : DnsRcode.NxDomain;
    socket.send(encodeDnsResponse({ query, rcode, addresses }), from).catch(() => {});
  });
  return {
    address: socket.address,
    lookups: lookups.items,
    get lookupsDropped() {
      return lookups.dropped;
    },
    close: () => socket.close(),
  };
}
