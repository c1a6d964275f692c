import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  decodeProxyHeader,
  encodeProxyHeader,
  PROXY_V1_MAX_LENGTH,
  PROXY_V2_SIGNATURE,
  startsProxyHeader,
} from "../../lib/wire/proxy_protocol.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import * as arb from "../helpers/arbitraries.ts";

const text = (s: string) => new TextEncoder().encode(s);
const bytes = (...parts: (number | Uint8Array | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "number" ? [p] : [...p])));
/** A v2 header: signature, version/command, family/transport, the block (length computed unless given). */
const v2 = (verCmd: number, famProto: number, block: number[], length = block.length) =>
  bytes(PROXY_V2_SIGNATURE, verCmd, famProto, length >> 8, length & 0xff, block);
const TCP4_BLOCK = [192, 0, 2, 7, 198, 51, 100, 1, 0x9c, 0x40, 0x04, 0x38];

function decodeAll(input: Uint8Array) {
  const result = decodeProxyHeader(input);
  assert.ok(result.done, "expected a complete header");
  return result;
}

function assertMalformed(input: Uint8Array, message: RegExp) {
  assert.throws(() => decodeProxyHeader(input), (error: unknown) => {
    assert.ok(error instanceof SocksError, String(error));
    assert.equal(error.code, "bad-proxy-header");
    assert.match(error.message, message);
    return true;
  });
}

describe("PROXY v1", () => {
  it("reads TCP4 and leaves the client's bytes after the line", () => {
    const line = "PROXY TCP4 192.0.2.7 198.51.100.1 40000 1080\r\n";
    const result = decodeAll(bytes(text(line), 0x05, 0x01, 0x00));
    assert.deepEqual(result.value, {
      version: 1,
      command: "proxy",
      source: { hostname: "192.0.2.7", port: 40000 },
      destination: { hostname: "198.51.100.1", port: 1080 },
    });
    assert.equal(result.consumed, line.length);
  });
  it("reads TCP6 and writes the addresses canonically", () => {
    const result = decodeAll(text("PROXY TCP6 2001:DB8:0:0::7 ::1 65535 0\r\n"));
    assert.deepEqual(result.value.source, { hostname: "2001:db8::7", port: 65535 });
    assert.deepEqual(result.value.destination, { hostname: "::1", port: 0 });
  });
  it("reads UNKNOWN (anything up to CRLF) as no address", () => {
    assert.deepEqual(decodeAll(text("PROXY UNKNOWN\r\n")).value, { version: 1, command: "proxy" });
    assert.deepEqual(decodeAll(text("PROXY UNKNOWN ffff:f::1 ffff:f::2 65535 65535\r\n")).value, {
      version: 1,
      command: "proxy",
    });
  });
  it("a line of exactly 107 bytes is read; one byte more is refused", () => {
    const max = `PROXY UNKNOWN ${"x".repeat(PROXY_V1_MAX_LENGTH - 16)}\r\n`;
    assert.equal(max.length, PROXY_V1_MAX_LENGTH);
    assert.equal(decodeAll(text(max)).consumed, PROXY_V1_MAX_LENGTH);
    assertMalformed(text(`PROXY UNKNOWN ${"x".repeat(PROXY_V1_MAX_LENGTH - 15)}\r\n`), /longer than 107/);
  });
  it("refuses every malformed line", () => {
    const cases: [string, RegExp][] = [
      ["PROXX TCP4 1.2.3.4 5.6.7.8 1 2\r\n", /does not start/],
      ["PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", /protocol "TCP5"/],
      ["PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", /protocol "tcp4"/],
      ["PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", /4 fields/],
      ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", /4 fields/],
      ["PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", /4 fields/],
      ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", /4 fields/],
      ["PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", /source address/],
      ["PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", /source address/],
      ["PROXY TCP4 1.2.3.4 ::1 1 2\r\n", /destination address/],
      ["PROXY TCP6 1.2.3.4 ::1 1 2\r\n", /source address/],
      ["PROXY TCP6 ::1 example.com 1 2\r\n", /destination address/],
      ["PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", /above 65535/],
      ["PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", /source port "01"/],
      ["PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n", /destination port "-2"/],
      ["PROXY TCP4 1.2.3.4 5.6.7.8 1 0x10\r\n", /destination port/],
      ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", /LF without CR/],
      ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", /CR not followed by LF/],
      ["PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", /byte 0x09/],
      ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2\x00\r\n", /byte 0x00/],
      ["PROXY UNKNOWN \xff\r\n", /byte 0xff/],
    ];
    for (const [line, message] of cases) {
      const input = new Uint8Array([...line].map((c) => c.charCodeAt(0)));
      assertMalformed(input, message);
    }
  });
  it("refuses a line with no CRLF within 107 bytes, before the rest arrives", () => {
    assertMalformed(text(`PROXY TCP4 ${"1".repeat(200)}`), /longer than 107/);
  });
  it("a SOCKS first byte is no PROXY header", () => {
    assertMalformed(bytes(0x05, 0x01, 0x00), /first byte 0x05/);
    assertMalformed(bytes(0x04, 0x01), /first byte 0x04/);
  });
});

describe("PROXY v2", () => {
  it("reads TCP over IPv4", () => {
    const result = decodeAll(bytes(v2(0x21, 0x11, TCP4_BLOCK), 0x05));
    assert.deepEqual(result.value, {
      version: 2,
      command: "proxy",
      source: { hostname: "192.0.2.7", port: 40000 },
      destination: { hostname: "198.51.100.1", port: 1080 },
    });
    assert.equal(result.consumed, 16 + 12);
  });
  it("reads TCP over IPv6 and reads past TLVs", () => {
    const src = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 7];
    const dst = [...new Array(15).fill(0), 1];
    const tlvs = [0x04, 0x00, 0x00, 0x05, 0x00, 0x03, 0x61, 0x62, 0x63, 0xee, 0x00, 0x01, 0x00];
    const result = decodeAll(v2(0x21, 0x21, [...src, ...dst, 0x00, 0x50, 0x04, 0x38, ...tlvs]));
    assert.deepEqual(result.value.source, { hostname: "2001:db8::7", port: 80 });
    assert.deepEqual(result.value.destination, { hostname: "::1", port: 1080 });
    assert.equal(result.consumed, 16 + 36 + tlvs.length);
  });
  it("reads LOCAL (a health check) whatever its block holds, and UNSPEC, as no address", () => {
    assert.deepEqual(decodeAll(v2(0x20, 0x00, [])).value, { version: 2, command: "local" });
    assert.deepEqual(decodeAll(v2(0x20, 0x11, TCP4_BLOCK)).value, { version: 2, command: "local" });
    assert.deepEqual(decodeAll(v2(0x20, 0x31, [1, 2, 3])).value, { version: 2, command: "local" });
    assert.deepEqual(decodeAll(v2(0x21, 0x00, [])).value, { version: 2, command: "proxy" });
  });
  it("needs the whole header, and says how much more", () => {
    const whole = v2(0x21, 0x11, TCP4_BLOCK);
    for (let n = 0; n < whole.length; n++) {
      const result = decodeProxyHeader(whole.subarray(0, n));
      assert.equal(result.done, false, `prefix of ${n} bytes`);
      if (!result.done) assert.ok(result.needed >= 1 && result.needed <= whole.length - n);
    }
  });
  it("refuses every malformed header", () => {
    const cases: [Uint8Array, RegExp][] = [
      [bytes(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0b), /signature/],
      [bytes(0x0d, 0x0a, 0x0d, 0x0b), /signature/],
      [v2(0x11, 0x11, TCP4_BLOCK), /version 1 is not 2/],
      [v2(0x31, 0x11, TCP4_BLOCK), /version 3 is not 2/],
      [v2(0x22, 0x11, TCP4_BLOCK), /command 0x02/],
      [v2(0x2f, 0x11, TCP4_BLOCK), /command 0x0f/],
      [v2(0x21, 0x41, TCP4_BLOCK), /family 0x04/],
      [v2(0x21, 0x13, TCP4_BLOCK), /transport 0x03/],
      [v2(0x21, 0x12, TCP4_BLOCK), /not STREAM/],
      [v2(0x21, 0x10, TCP4_BLOCK), /not STREAM/],
      [v2(0x21, 0x31, new Array(216).fill(0)), /AF_UNIX/],
      [v2(0x21, 0x11, TCP4_BLOCK.slice(0, 11)), /shorter than the 12 bytes/],
      [v2(0x21, 0x21, TCP4_BLOCK), /shorter than the 36 bytes/],
      [v2(0x21, 0x11, [...TCP4_BLOCK, 0x01, 0x00]), /cut short/],
      [v2(0x21, 0x11, [...TCP4_BLOCK, 0x01, 0x00, 0x05, 1, 2]), /runs past/],
      [v2(0x21, 0x00, [0x01]), /cut short/],
    ];
    for (const [input, message] of cases) assertMalformed(input, message);
  });
});

const endpointPair = fc.oneof(
  fc.tuple(arb.ipv4, arb.ipv4),
  fc.tuple(arb.ipv6, arb.ipv6),
).chain(([a, b]) =>
  fc.tuple(arb.port, arb.port).map(([p, q]) => ({
    source: { hostname: a.host, port: p },
    destination: { hostname: b.host, port: q },
  }))
);
const tlv = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 20 }));
const header = fc.record({
  version: fc.constantFrom(1 as const, 2 as const),
  endpoints: fc.option(endpointPair, { nil: undefined }),
  tlvs: fc.array(tlv, { maxLength: 3 }),
}).map(({ version, endpoints, tlvs }) => ({ version, ...endpoints, tlvs: version === 2 ? tlvs : undefined }));

describe("PROXY header properties", () => {
  it("startsProxyHeader consumes nothing, says yes to every header and no to SOCKS and HTTP", () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 8 }), (h, trailer) => {
        assert.deepEqual(startsProxyHeader(bytes(encodeProxyHeader(h), trailer)), {
          done: true,
          value: true,
          consumed: 0,
        });
      }),
      { numRuns: 200 },
    );
    for (const other of ["\x05\x01\x00", "\x04\x01", "POST / HTTP/1.1\r\n", "PUT /", "PROXX", "\r\n\r\n\x00\r\nQUIX"]) {
      const result = startsProxyHeader(new Uint8Array([...other].map((c) => c.charCodeAt(0))));
      assert.deepEqual(result, { done: true, value: false, consumed: 0 }, JSON.stringify(other));
    }
    assert.deepEqual(startsProxyHeader(text("PROX")), { done: false, needed: 2 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), (input) => {
        const result = startsProxyHeader(input);
        if (result.done) assert.equal(result.consumed, 0);
        else assert.ok(result.needed >= 1);
      }),
      { numRuns: 1000 },
    );
  });

  it("decode(encode(h)) gives its endpoints back, consuming exactly the header", () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 8 }), (h, trailer) => {
        const encoded = encodeProxyHeader(h);
        const result = decodeProxyHeader(bytes(encoded, trailer));
        assert.ok(result.done);
        assert.equal(result.consumed, encoded.length);
        assert.equal(result.value.version, h.version);
        assert.deepEqual(result.value.source, h.source && { ...h.source });
        assert.deepEqual(result.value.destination, h.destination && { ...h.destination });
        assert.equal(result.value.command, h.version === 2 && !h.source ? "local" : "proxy");
      }),
      { numRuns: 300 },
    );
  });
  it("every strict prefix needs more", () => {
    fc.assert(
      fc.property(header, (h) => {
        const encoded = encodeProxyHeader(h);
        for (let n = 0; n < encoded.length; n++) assert.equal(decodeProxyHeader(encoded.subarray(0, n)).done, false);
      }),
      { numRuns: 100 },
    );
  });
  it("random bytes, and valid headers with one byte changed, decode or throw a bad-proxy-header error", () => {
    const mutated = fc.tuple(header, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([h, at, xor]) => {
      const encoded = encodeProxyHeader(h);
      encoded[at % encoded.length] ^= xor;
      return encoded;
    });
    const v2Prefixed = fc.uint8Array({ maxLength: 80 }).map((tail) => bytes(PROXY_V2_SIGNATURE, tail));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated, v2Prefixed), (input) => {
        try {
          const result = decodeProxyHeader(input);
          if (result.done) assert.ok(result.consumed >= 15 && result.consumed <= input.length);
          else assert.ok(result.needed >= 1);
        } catch (error) {
          assert.ok(error instanceof SocksError, String(error));
          assert.equal(error.code, "bad-proxy-header");
        }
      }),
      { numRuns: 2000 },
    );
  });
});
