import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatHostPort,
  ipv4ToBytes,
  ipv6FromBytes,
  ipv6ToBytes,
  parseAddress,
  parseHostPort,
} from "../../lib/wire/address.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";

describe("IPv6 text forms", () => {
  const cases: [string, string][] = [
    ["::1", "::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["0000:0000:0000:0000:0000:0000:0000:0000", "::"],
    ["2001:DB8:0:0:8:800:200C:417A", "2001:db8::8:800:200c:417a"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // RFC 5952 4.2.3: first of equal runs
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // 4.2.2: one zero group is not compressed
    ["2001:0db8::0001", "2001:db8::1"],
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ["0:0:0:0:0:ffff:c000:0201", "::ffff:192.0.2.1"],
    ["::192.0.2.1", "::c000:201"],
    ["fe80::", "fe80::"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
  ];
  for (const [input, canonical] of cases) {
    it(`${input} -> ${canonical}`, () => {
      const bytes = ipv6ToBytes(input);
      assert.ok(bytes, input);
      assert.equal(ipv6FromBytes(bytes), canonical);
      assert.deepEqual(ipv6ToBytes(canonical), bytes);
    });
  }
  for (
    const bad of [":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::1", "1:2:3:4:5:6:7", "::1.2.3", "::1%eth0"]
  ) {
    it(`rejects ${bad}`, () => assert.equal(ipv6ToBytes(bad), undefined));
  }
});

describe("IPv4 text forms", () => {
  it("parses dotted quads", () => assert.deepEqual([...ipv4ToBytes("66.102.7.99")!], [66, 102, 7, 99]));
  for (const bad of ["1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-1", "1..2.3", " 1.2.3.4"]) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.equal(ipv4ToBytes(bad), undefined));
  }
});

describe("parseAddress / parseHostPort", () => {
  it("tells the three kinds apart", () => {
    assert.deepEqual(parseAddress("10.0.0.1"), { type: "ipv4", host: "10.0.0.1" });
    assert.deepEqual(parseAddress("::1"), { type: "ipv6", host: "::1" });
    assert.deepEqual(parseAddress("[::1]"), { type: "ipv6", host: "::1" });
    assert.deepEqual(parseAddress("example.org"), { type: "domain", host: "example.org" });
  });
  it("parses host:port forms", () => {
    assert.deepEqual(parseHostPort("[::1]:1080"), { address: { type: "ipv6", host: "::1" }, port: 1080 });
    assert.deepEqual(parseHostPort("127.0.0.1:0"), { address: { type: "ipv4", host: "127.0.0.1" }, port: 0 });
    assert.deepEqual(parseHostPort("h:65535"), { address: { type: "domain", host: "h" }, port: 65535 });
    assert.deepEqual(parseHostPort("::1", 1080), { address: { type: "ipv6", host: "::1" }, port: 1080 });
    assert.equal(formatHostPort(parseHostPort("[0::1]:80")), "[::1]:80");
  });
  const bad: [string, string][] = [
    ["h:65536", "bad-port"],
    ["h:-1", "bad-port"],
    ["h:", "bad-port"],
    ["h", "bad-port"],
    ["[::1]x", "bad-address"],
    ["[::1", "bad-address"],
    ["[1.2.3.4]:80", "bad-address"],
    ["999.1.1.1:80", "bad-address"],
    ["[::g]:80", "bad-address"],
    [":80", "bad-address"],
    [`${"a".repeat(256)}:80`, "too-long"],
  ];
  for (const [input, code] of bad) {
    it(`rejects ${input.slice(0, 20)} with ${code}`, () => {
      assert.throws(() => parseHostPort(input), (e) => e instanceof SocksError && e.code === code);
    });
  }
});
