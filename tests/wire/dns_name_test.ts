import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { dnsNameText, encodeDnsName, readDnsName } from "../../lib/wire/dns_name.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { hexBytes } from "../helpers/bytes.ts";

describe("DNS names", () => {
  it("follows a compression pointer back to an earlier name, and ends after the pointer", () => {
    // "a.org" at 0, then "www" + pointer to 0, then a byte that is not part of the name.
    const message = hexBytes("01 61 03 6f 72 67 00 03 77 77 77 c0 00 ff");
    const name = readDnsName(message, 7);
    assert.equal(dnsNameText(name), "www.a.org");
    assert.equal(name.end, 13);
  });

  for (
    const [label, hex, offset] of [
      ["a pointer to itself", "c0 00", 0],
      ["a pointer forward", "c0 02 01 61 00", 0],
      // "b" then a pointer back to "b": it points backwards, but to where this name has already been read.
      ["a loop through a backward pointer", "01 62 c0 00", 0],
      ["two pointers into each other", "01 61 c0 04 01 62 c0 00", 4],
      ["a pointer cut in half", "01 61 c0", 0],
      ["a label past the end", "05 61 62", 0],
      ["no end at all", "01 61", 0],
      ["an extended label type (0x40)", "41 61 00", 0],
    ] as const
  ) {
    it(`refuses ${label}`, () => {
      assert.throws(() => readDnsName(hexBytes(hex), offset), (e) => e instanceof SocksError && e.code === "bad-field");
    });
  }

  it("refuses a name over 255 octets, also one built from a chain of backward pointers", () => {
    const long = new Uint8Array([...new Array(4).fill(0).flatMap(() => [63, ...new Array(63).fill(0x61)]), 0]);
    assert.throws(() => readDnsName(long, 0), /longer than 255/);
    // Each "x" label points back at the one before: 200 labels of 2 octets each = 400 octets.
    const bytes: number[] = [1, 0x78, 0];
    const starts = [0];
    for (let i = 1; i < 200; i++) {
      starts.push(bytes.length);
      const target = starts[i - 1];
      bytes.push(1, 0x78, 0xc0 | (target >> 8), target & 0xff);
    }
    assert.throws(() => readDnsName(new Uint8Array(bytes), starts[199]), /longer than 255/);
    assert.equal(dnsNameText(readDnsName(new Uint8Array(bytes), starts[3])), "x.x.x.x");
  });

  it("writes names and refuses empty and overlong labels", () => {
    assert.deepEqual([...encodeDnsName("")], [0]);
    assert.deepEqual([...encodeDnsName("a.")], [1, 0x61, 0]);
    assert.throws(() => encodeDnsName("a..b"), /label of 0/);
    assert.throws(() => encodeDnsName("x".repeat(64)), /label of 64/);
    assert.throws(() => encodeDnsName(Array(128).fill("a").join(".")), /longer than 255/);
  });

  it("any bytes: a name or a SocksError, never a hang or another error (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, offset) => {
        try {
          const name = readDnsName(bytes, offset);
          assert.ok(name.labels.reduce((n, l) => n + l.length + 1, 1) <= 255);
          assert.ok(name.end <= bytes.length);
        } catch (error) {
          assert.ok(error instanceof SocksError, String(error));
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
