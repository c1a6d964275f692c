/** CIDR ranges: parsing (with the bad text named) and membership, IPv4-mapped IPv6 counting as IPv4. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cidrContains, parseCidr } from "../../lib/net/cidr.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";

const contains = (range: string, ip: string) => cidrContains(parseCidr(range), ip);

describe("parseCidr", () => {
  it("parses IPv4 and IPv6 ranges and bare addresses (a /32 or a /128)", () => {
    assert.deepEqual(parseCidr("10.0.0.0/8"), { bytes: new Uint8Array([10, 0, 0, 0]), prefix: 8 });
    assert.deepEqual(parseCidr("192.0.2.1"), { bytes: new Uint8Array([192, 0, 2, 1]), prefix: 32 });
    const v6 = parseCidr("2001:db8::/32");
    assert.equal(v6.prefix, 32);
    assert.deepEqual([...v6.bytes.subarray(0, 4)], [0x20, 0x01, 0x0d, 0xb8]);
    assert.equal(v6.bytes.length, 16);
    assert.equal(parseCidr("::1").prefix, 128);
    assert.equal(parseCidr("0.0.0.0/0").prefix, 0);
  });

  it("folds an IPv4-mapped IPv6 address into IPv4", () => {
    assert.deepEqual(parseCidr("::ffff:10.1.2.3"), { bytes: new Uint8Array([10, 1, 2, 3]), prefix: 32 });
  });

  for (
    const bad of [
      "",
      "example.com",
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/",
      "10.0.0.0/-1",
      "10.0.0.0/8/8",
      "10.0.0.0/ 8",
      "10.0.0.0/1000",
      "10.0.0/8",
      "010.0.0.0/8",
      "1.2.3.4/x",
    ]
  ) {
    it(`refuses ${JSON.stringify(bad)}, naming it`, () => {
      assert.throws(
        () => parseCidr(bad),
        (error: unknown) =>
          error instanceof SocksError && error.code === "bad-address" && error.message.includes(`"${bad}"`),
      );
    });
  }
});

describe("cidrContains", () => {
  it("matches on the prefix only, byte-aligned or not", () => {
    assert.equal(contains("10.0.0.0/8", "10.255.1.2"), true);
    assert.equal(contains("10.0.0.0/8", "11.0.0.0"), false);
    assert.equal(contains("172.16.0.0/12", "172.31.255.255"), true);
    assert.equal(contains("172.16.0.0/12", "172.32.0.0"), false);
    assert.equal(contains("172.16.0.0/12", "172.15.255.255"), false);
    assert.equal(contains("fe80::/10", "febf::1"), true);
    assert.equal(contains("fe80::/10", "fec0::1"), false);
    assert.equal(contains("192.0.2.1/31", "192.0.2.0"), true);
    assert.equal(contains("192.0.2.1/31", "192.0.2.2"), false);
  });

  it("ignores host bits in the range's address", () => {
    assert.equal(contains("10.9.9.9/8", "10.0.0.1"), true);
  });

  it("a single address contains only itself, in any spelling", () => {
    assert.equal(contains("192.0.2.1", "192.0.2.1"), true);
    assert.equal(contains("192.0.2.1", "192.0.2.2"), false);
    assert.equal(contains("2001:db8::1", "2001:DB8:0:0:0:0:0:1"), true);
    assert.equal(contains("::1/128", "::2"), false);
  });

  it("/0 holds its whole family and nothing of the other", () => {
    assert.equal(contains("0.0.0.0/0", "203.0.113.9"), true);
    assert.equal(contains("0.0.0.0/0", "2001:db8::1"), false);
    assert.equal(contains("::/0", "2001:db8::1"), true);
    assert.equal(contains("::/0", "203.0.113.9"), false);
  });

  it("counts an IPv4-mapped IPv6 address as IPv4", () => {
    assert.equal(contains("127.0.0.0/8", "::ffff:127.0.0.1"), true);
    assert.equal(contains("::ffff:127.0.0.1", "127.0.0.1"), true);
  });

  it("is false for anything that is not an IP address", () => {
    assert.equal(contains("0.0.0.0/0", "example.com"), false);
    assert.equal(contains("::/0", ""), false);
  });
});
