import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeDnsQuery, DnsRcode, DnsType, encodeDnsFailure, encodeDnsResponse } from "../../lib/wire/dns_message.ts";
import { decodeDnsTcpFrame, encodeDnsTcpFrame } from "../../lib/wire/dns_tcp_frame.ts";
import { reverseNameAddress } from "../../lib/wire/dns_reverse_name.ts";
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
      ["a name pointing at itself", "ab cd 01 00 00 01 00 00 00 00 00 00 c0 0c 00 01 00 01"],
      ["two questions", "ab cd 01 00 00 02 00 00 00 00 00 00 01 61 00 00 01 00 01 01 62 00 00 01 00 01"],
      ["a label past the end", "ab cd 01 00 00 01 00 00 00 00 00 00 09 61 62"],
      ["no type and class", "ab cd 01 00 00 01 00 00 00 00 00 00 01 61 00 00"],
    ] as const
  ) {
    it(`refuses ${label}`, () => assert.throws(() => decodeDnsQuery(hexBytes(bytes)), /DNS/));
  }

  it("an address of the wrong family for the question is refused", () => {
    assert.throws(() => encodeDnsResponse({ query: decodeDnsQuery(QUERY), rcode: 0, addresses: ["192.0.2.1"] }));
  });

  it("reads a question whose name is compressed, and echoes it uncompressed", () => {
    // The label "a", then a pointer to offset 11: ARCOUNT's low byte, a zero, read as the root.
    const query = decodeDnsQuery(hexBytes("00 01 01 00 00 01 00 00 00 00 00 00 01 61 c0 0b 00 01 00 01"));
    assert.equal(query.question.name, "a");
    assert.deepEqual([...query.questionBytes], [1, 0x61, 0, 0, 1, 0, 1]);
  });

  it("PTR answers carry the name uncompressed", () => {
    const query = decodeDnsQuery(hexBytes("00 05 01 00 00 01 00 00 00 00 00 00 01 31 00 00 0c 00 01"));
    const response = encodeDnsResponse({ query, rcode: 0, names: ["a.org"], ttl: 9 });
    assert.equal(new DataView(response.buffer).getUint16(6), 1);
    assert.deepEqual([...response.subarray(-9)], [0, 7, 1, 0x61, 3, 0x6f, 0x72, 0x67, 0]);
  });

  it("FORMERR without a question keeps the ID and RD; a response or a runt is never answered", () => {
    const failure = encodeDnsFailure(hexBytes("ab cd 01 00 00 02 00 00 00 00 00 00 ff"), DnsRcode.FormErr)!;
    assert.deepEqual([...failure], [0xab, 0xcd, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(encodeDnsFailure(hexBytes("ab cd 81 00 00 01 00 00 00 00 00 00"), DnsRcode.FormErr), undefined);
    assert.equal(encodeDnsFailure(hexBytes("ab cd 01"), DnsRcode.FormErr), undefined);
  });

  it("TCP framing: whole messages, and a prefix shorter than a header is refused", () => {
    const frame = encodeDnsTcpFrame(QUERY);
    assert.deepEqual(decodeDnsTcpFrame(frame.subarray(0, 1)), { done: false, needed: 1 });
    assert.deepEqual(decodeDnsTcpFrame(frame.subarray(0, 10)), { done: false, needed: frame.length - 10 });
    const whole = decodeDnsTcpFrame(new Uint8Array([...frame, 0, 12]));
    assert.ok(whole.done);
    assert.deepEqual([...whole.value], [...QUERY]);
    assert.equal(whole.consumed, frame.length);
    assert.throws(() => decodeDnsTcpFrame(hexBytes("00 00")), /shorter than a DNS header/);
  });

  it("reverse names: in-addr.arpa and ip6.arpa in full, nothing else", () => {
    assert.equal(reverseNameAddress("1.0.192.127.IN-ADDR.ARPA."), "127.192.0.1");
    const nibbles = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.6.2.6.1.6.4.7.d.f";
    assert.equal(reverseNameAddress(`${nibbles}.ip6.arpa`), "fd74:6162:6900::1");
    for (
      const name of ["0.192.127.in-addr.arpa", "256.0.192.127.in-addr.arpa", "01.0.192.127.in-addr.arpa", "1.ip6.arpa"]
    ) {
      assert.equal(reverseNameAddress(name), undefined, name);
    }
  });
});
