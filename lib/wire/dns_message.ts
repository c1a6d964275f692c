/**
 * The DNS messages (RFC 1035 section 4) tabi's responders need: read the question of a query (compressed names
 * included, see dns_name.ts), and write a response with A/AAAA or PTR answers, or an error code. Sans-I/O like
 * every codec here; dns_tcp_frame.ts adds the length prefix of DNS over TCP.
 *
 * @module
 */
import { ipv4ToBytes, ipv6ToBytes } from "./address.ts";
import { dnsNameText, encodeDnsName, readDnsName } from "./dns_name.ts";
import { SocksError } from "./socks_error.ts";

/** Record types the responders name (RFC 1035, RFC 3596, RFC 9460). */
export const DnsType = {
  A: 1,
  PTR: 12,
  AAAA: 28,
  SVCB: 64,
  HTTPS: 65,
} as const;

/** The one class served: Internet (RFC 1035 section 3.2.4). */
export const DnsClass = {
  IN: 1,
} as const;

/** The one opcode served: a standard query (RFC 1035 section 4.1.1). */
export const DnsOpcode = {
  Query: 0,
} as const;

/** Response codes (RFC 1035 section 4.1.1). */
export const DnsRcode = {
  NoError: 0,
  FormErr: 1,
  ServFail: 2,
  NxDomain: 3,
  NotImp: 4,
  Refused: 5,
} as const;

/** The question of a query. */
export interface DnsQuestion {
  /** The name as asked, without the trailing dot. */
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

/** A query as far as a responder needs it. */
export interface DnsQuery {
  readonly id: number;
  readonly flags: number;
  readonly question: DnsQuestion;
  /** The question section's bytes, echoed in the response. */
  readonly questionBytes: Uint8Array;
}

const HEADER = 12;
const QR = 0x8000;
const OPCODE = 0x7800;
const OPCODE_SHIFT = 11;
const AA = 0x0400;
const RD = 0x0100;
const RA = 0x0080;

/**
 * Reads a query's header and its one question; throws SocksError "bad-field" on anything else (a response, no
 * question or more than one, a name that runs past the message, loops through compression pointers or is longer
 * than 255 octets). The question is kept as read, uncompressed, for the response to echo.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeDnsQuery } from "./dns_message.ts";
 * const query = new Uint8Array([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 3, 0x6f, 0x72, 0x67, 0, 0, 1, 0, 1]);
 * assert.deepEqual(decodeDnsQuery(query).question, { name: "a.org", type: 1, class: 1 });
 * ```
 */
export function decodeDnsQuery(bytes: Uint8Array): DnsQuery {
  if (bytes.length < HEADER) throw new SocksError("bad-field", `DNS message of ${bytes.length} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = view.getUint16(2);
  if (flags & QR) throw new SocksError("bad-field", "DNS message is a response, not a query");
  const questions = view.getUint16(4);
  // RFC 9619: a query has exactly one question; anything else is a format error.
  if (questions !== 1) throw new SocksError("bad-field", `DNS query with ${questions} questions (one is allowed)`);
  const name = readDnsName(bytes, HEADER);
  if (name.end + 4 > bytes.length) throw new SocksError("bad-field", "DNS question without type and class");
  const encodedName = encodeDnsName(name.labels);
  const questionBytes = new Uint8Array(encodedName.length + 4);
  questionBytes.set(encodedName);
  questionBytes.set(bytes.subarray(name.end, name.end + 4), encodedName.length);
  return {
    id: view.getUint16(0),
    flags,
    question: { name: dnsNameText(name), type: view.getUint16(name.end), class: view.getUint16(name.end + 2) },
    questionBytes,
  };
}

/** The opcode of a query's flags (0: a standard query). */
export function dnsOpcode(flags: number): number {
  return (flags & OPCODE) >> OPCODE_SHIFT;
}

/**
 * The error response to a message whose question cannot be read (RFC 1035 section 4.1.1: FORMERR, or NOTIMP for an
 * opcode not served): the header alone, with the message's ID and opcode. Undefined when the message is too short
 * to have a header or is itself a response: those are dropped, never answered, so that two responders cannot be
 * set answering each other.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeDnsFailure } from "./dns_message.ts";
 * const header = new Uint8Array([0, 9, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
 * assert.deepEqual([...encodeDnsFailure(header, 1)!], [0, 9, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]);
 * assert.equal(encodeDnsFailure(new Uint8Array(3), 1), undefined);
 * ```
 */
export function encodeDnsFailure(message: Uint8Array, rcode: number): Uint8Array | undefined {
  if (message.length < HEADER || message[2] & (QR >> 8)) return undefined;
  const flags = (message[2] << 8) | message[3];
  const bytes = new Uint8Array(HEADER);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, (message[0] << 8) | message[1]);
  view.setUint16(2, QR | (flags & OPCODE) | (flags & RD) | RA | (rcode & 0xf));
  return bytes;
}

/** Options of a response. */
export interface DnsResponse {
  readonly query: DnsQuery;
  readonly rcode: number;
  /** IP literals answering the question: IPv4 for an A question, IPv6 for AAAA. */
  readonly addresses?: readonly string[];
  /** Names answering a PTR question. */
  readonly names?: readonly string[];
  /** Seconds the answers may be cached. */
  readonly ttl?: number;
}

/**
 * Writes the response to a query: its question echoed, and one A or AAAA record per address, or one PTR record per
 * name (each owned by a pointer to the question's name, RFC 1035 section 4.1.4).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeDnsQuery, encodeDnsResponse } from "./dns_message.ts";
 * const query = decodeDnsQuery(new Uint8Array([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0, 1, 0, 1]));
 * const response = encodeDnsResponse({ query, rcode: 0, addresses: ["192.0.2.1"] });
 * assert.deepEqual([...response.subarray(-4)], [192, 0, 2, 1]);
 * ```
 */
export function encodeDnsResponse(response: DnsResponse): Uint8Array {
  const { query, rcode } = response;
  const data = (response.addresses ?? []).map((address) => {
    const data = query.question.type === DnsType.AAAA ? ipv6ToBytes(address) : ipv4ToBytes(address);
    if (data === undefined) {
      throw new SocksError("bad-address", `${address} does not answer a type ${query.question.type} question`);
    }
    return data;
  }).concat((response.names ?? []).map((name) => encodeDnsName(name)));
  const records = data.map((data) => {
    const record = new Uint8Array(12 + data.length);
    const view = new DataView(record.buffer);
    view.setUint16(0, 0xc000 | HEADER);
    view.setUint16(2, query.question.type);
    view.setUint16(4, query.question.class);
    view.setUint32(6, response.ttl ?? 5);
    view.setUint16(10, data.length);
    record.set(data, 12);
    return record;
  });
  const length = HEADER + query.questionBytes.length + records.reduce((n, r) => n + r.length, 0);
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, query.id);
  view.setUint16(2, QR | (query.flags & OPCODE) | AA | (query.flags & RD) | RA | (rcode & 0xf));
  view.setUint16(4, 1);
  view.setUint16(6, records.length);
  bytes.set(query.questionBytes, HEADER);
  let at = HEADER + query.questionBytes.length;
  for (const record of records) {
    bytes.set(record, at);
    at += record.length;
  }
  return bytes;
}
