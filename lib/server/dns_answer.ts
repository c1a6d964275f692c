/**
 * What the DNS port answers (Tor's DNSPort with AutomapHostsOnResolve): nothing is ever resolved on this machine.
 * A and AAAA questions get an address from the name map; PTR questions for a mapped address get its name; HTTPS and
 * SVCB questions get an empty answer, so that browsers go on with A and AAAA; every other question is refused.
 * Sans-I/O: dns_port.ts carries the bytes.
 *
 * @module
 */
import {
  decodeDnsQuery,
  DnsClass,
  DnsOpcode,
  dnsOpcode,
  DnsRcode,
  DnsType,
  encodeDnsFailure,
  encodeDnsResponse,
} from "../wire/dns_message.ts";
import { reverseNameAddress } from "../wire/dns_reverse_name.ts";
import { NAME_MAP_DEFAULTS, type NameMap } from "./name_map.ts";

/** A name the map takes: LDH labels (RFC 1123 section 2.1), underscores too (SRV-style and real-world names). */
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/i;

/**
 * The answer to one DNS message, or undefined when it is dropped (too short to have a header, or itself a response).
 * Errors (RFC 1035 section 4.1.1): FORMERR for a query that cannot be read (more than one question, a name that runs
 * past the message or loops through compression pointers or is too long); NOTIMP for an opcode other than QUERY;
 * REFUSED for a class other than IN, a name that is not a host name, a PTR question about an address the map does
 * not own, and every other type (MX, TXT, SRV, ANY ...): those would need a resolver, and this port resolves
 * nothing; REFUSED is "a policy reason", where NOTIMP would claim the kind of query is not implemented; NXDOMAIN for a
 * PTR question about an address in the range that no name has; SERVFAIL when the map is full of names in use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { answerDnsMessage } from "./dns_answer.ts";
 * import { NameMap } from "./name_map.ts";
 * const query = new Uint8Array([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0, 1, 0, 1]);
 * const answer = answerDnsMessage(new NameMap(), query)!;
 * assert.deepEqual([...answer.subarray(-4)], [127, 192, 0, 1]);
 * ```
 */
export function answerDnsMessage(nameMap: NameMap, message: Uint8Array): Uint8Array | undefined {
  nameMap.countQuestion();
  let query;
  try {
    query = decodeDnsQuery(message);
  } catch {
    const failure = encodeDnsFailure(message, DnsRcode.FormErr);
    nameMap.countRefusal(failure === undefined ? "dropped" : "formerr");
    return failure;
  }
  const refuse = (rcode: number, reason: string) => {
    nameMap.countRefusal(reason);
    return encodeDnsResponse({ query, rcode });
  };
  if (dnsOpcode(query.flags) !== DnsOpcode.Query) return refuse(DnsRcode.NotImp, "notimp");
  const { name, type } = query.question;
  if (query.question.class !== DnsClass.IN) return refuse(DnsRcode.Refused, "refused");
  const ttl = NAME_MAP_DEFAULTS.ttlSeconds;
  switch (type) {
    case DnsType.A:
    case DnsType.AAAA: {
      if (!HOSTNAME.test(name)) return refuse(DnsRcode.Refused, "refused");
      const address = nameMap.addressFor(name, type === DnsType.A ? "ipv4" : "ipv6");
      if (address === undefined) return refuse(DnsRcode.ServFail, "servfail");
      return encodeDnsResponse({ query, rcode: DnsRcode.NoError, addresses: [address], ttl });
    }
    case DnsType.PTR: {
      const address = reverseNameAddress(name);
      if (address === undefined || !nameMap.inRange(address)) return refuse(DnsRcode.Refused, "refused");
      const mapped = nameMap.nameFor(address);
      if (mapped === undefined) return refuse(DnsRcode.NxDomain, "nxdomain");
      return encodeDnsResponse({ query, rcode: DnsRcode.NoError, names: [mapped], ttl });
    }
    case DnsType.HTTPS:
    case DnsType.SVCB:
      // RFC 9460 section 3: with no HTTPS record a client goes on with A and AAAA; an empty NOERROR says just that.
      return encodeDnsResponse({ query, rcode: DnsRcode.NoError });
    default:
      return refuse(DnsRcode.Refused, "refused");
  }
}
