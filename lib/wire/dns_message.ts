/**
 * The little of DNS (RFC 1035 section 4) that a recording responder needs: read the question of a query, and
 * write a response with A/AAAA answers or an error code. Sans-I/O like every codec here.
 *
 * @module
 */
import { ipv4ToBytes, ipv6ToBytes } from "./address.ts";
import { SocksError } from "./socks_error.ts";

/** Record types the responder names (RFC 1035, RFC 3596, RFC 9460). */
export const DnsType = {
  A: 1,
  PTR: 12,
  AAAA: 28,
  HTTPS: 65,
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
const AA = 0x0400;
const RD = 0x0100;
const RA = 0x0080;
const decoder = new TextDecoder();

/**
 * Reads a query's header and its one question; throws SocksError "bad-field" on anything else (a response, no
 * question, a compressed or overlong name).
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
  if (view.getUint16(4) < 1) throw new SocksError("bad-field", "DNS query without a question");
  const labels: string[] = [];
  let at = HEADER;
  for (;;) {
    const length = bytes[at];
    if (length === undefined) throw new SocksError("bad-field", "DNS name runs past the message");
    if (length & 0xc0) throw new SocksError("bad-field", "compressed name in a DNS question");
    at += 1;
    if (length === 0) break;
    if (at + length > bytes.length) throw new SocksError("bad-field", "DNS label runs past the message");
    labels.push(decoder.decode(bytes.subarray(at, at + length)));
    at += length;
    if (at - HEADER > 255) throw new SocksError("bad-field", "DNS name longer than 255 bytes");
  }
  if (at + 4 > bytes.length) throw new SocksError("bad-field", "DNS question without type and class");
  return {
    id: view.getUint16(0),
    flags,
    question: { name: labels.join("."), type: view.getUint16(at), class: view.getUint16(at + 2) },
    questionBytes: bytes.slice(HEADER, at + 4),
  };
}

/** Options of a response. */
export interface DnsResponse {
  readonly query: DnsQuery;
  readonly rcode: number;
  /** IP literals answering the question: IPv4 for an A question, IPv6 for AAAA. */
  readonly addresses?: readonly string[];
  /** Seconds the answers may be cached. */
  readonly ttl?: number;
}

/**
 * Writes the response to a query: its question echoed, and one A or AAAA record per address (named by a pointer to
 * the question, RFC 1035 section 4.1.4).
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
  const records = (response.addresses ?? []).map((address) => {
    const data = query.question.type === DnsType.AAAA ? ipv6ToBytes(address) : ipv4ToBytes(address);
    if (data === undefined) {
      throw new SocksError("bad-address", `${address} does not answer a type ${query.question.type} question`);
    }
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
