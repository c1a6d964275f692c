import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeDnsQuery, DnsRcode, DnsType, encodeDnsResponse } from "../../lib/wire/dns_message.ts";
import { hexBytes } from "../helpers/bytes.ts";

// A query for www.example.org AAAA with RD set and an EDNS OPT record, as glibc sends it.
const QUERY = hexBytes(
  "ab cd 01 20 00 01 00 00 00 00 00 01 03 77 77 77 07 65 78 61 6d 70 6c 65 03 6f 72 67 00 00 1c 00 01" +
    " 00 00 29 04 d0 00 00 00 00 00 00",
);

describe("DNS messages", () => {
  it("reads the question of a query (EDNS record after it ignored)", () => {
    const query = decodeDnsQuery(QUERY);
    assert.equal(query.id, 0xabcd);
    assert.deepEqual(query.question, { name: "www.example.org", type: DnsType.AAAA, class: 1 });
  });

  it("answers AAAA with the question echoed and a pointer-named record", () => {
    const response = encodeDnsResponse({ query: decodeDnsQuery(QUERY), rcode: 0, addresses: ["2001:db8::1"], ttl: 7 });
    const view = new DataView(response.buffer);
    assert.equal(view.getUint16(0), 0xabcd);
    assert.equal(view.getUint16(2) & 0x8000, 0x8000, "QR");
    assert.equal(view.getUint16(2) & 0x0100, 0x0100, "RD copied");
    assert.equal(view.getUint16(4), 1);
    assert.equal(view.getUint16(6), 1);
    const answer = response.subarray(12 + 21);
    assert.deepEqual([...answer.subarray(0, 2)], [0xc0, 0x0c]);
    assert.equal(new DataView(answer.buffer, answer.byteOffset).getUint16(2), DnsType.AAAA);
    assert.equal(new DataView(answer.buffer, answer.byteOffset).getUint32(6), 7);
    assert.deepEqual([...answer.subarray(12)], [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]);
  });

  it("NXDOMAIN: no answer, the code in the flags", () => {
    const response = encodeDnsResponse({ query: decodeDnsQuery(QUERY), rcode: DnsRcode.NxDomain });
    assert.equal(new DataView(response.buffer).getUint16(2) & 0xf, 3);
    assert.equal(new DataView(response.buffer).getUint16(6), 0);
  });

  for (
    const [label, bytes] of [
      ["too short", "ab cd 01 00"],
      ["a response", "ab cd 81 00 00 01 00 00 00 00 00 00 00 00 01 00 01"],
      ["no question", "ab cd 01 00 00 00 00 00 00 00 00 00"],
      ["a compressed name", "ab cd 01 00 00 01 00 00 00 00 00 00 c0 0c 00 01 00 01"],
      ["a label past the end", "ab cd 01 00 00 01 00 00 00 00 00 00 09 61 62"],
      ["no type and class", "ab cd 01 00 00 01 00 00 00 00 00 00 01 61 00 00"],
    ] as const
  ) {
    it(`refuses ${label}`, () => assert.throws(() => decodeDnsQuery(hexBytes(bytes)), /DNS/));
  }

  it("an address of the wrong family for the question is refused", () => {
    assert.throws(() => encodeDnsResponse({ query: decodeDnsQuery(QUERY), rcode: 0, addresses: ["192.0.2.1"] }));
  });
});
