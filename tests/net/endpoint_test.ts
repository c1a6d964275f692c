/** Endpoint helpers: IP literals as wire addresses, comparison with IPv4-mapped folding, unspecified and loopback. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { endpointToHostPort, ipAddress, isLoopback, isUnspecified, sameIp } from "../../lib/net/endpoint.ts";

describe("ipAddress", () => {
  it("reads IPv4 and IPv6 literals, brackets allowed, IPv6 in canonical form", () => {
    assert.deepEqual(ipAddress("192.0.2.1"), { type: "ipv4", host: "192.0.2.1" });
    assert.deepEqual(ipAddress("::1"), { type: "ipv6", host: "::1" });
    assert.deepEqual(ipAddress("[::1]"), { type: "ipv6", host: "::1" });
    assert.deepEqual(ipAddress("2001:DB8:0:0:0:0:0:1"), { type: "ipv6", host: "2001:db8::1" });
  });

  it("folds an IPv4-mapped IPv6 address into the IPv4 address it maps", () => {
    assert.deepEqual(ipAddress("::ffff:192.0.2.1"), { type: "ipv4", host: "192.0.2.1" });
    assert.deepEqual(ipAddress("[::ffff:c000:201]"), { type: "ipv4", host: "192.0.2.1" });
  });

  it("is undefined for names and malformed literals", () => {
    for (const text of ["example.com", "localhost", "", "256.0.0.1", "1.2.3", "010.0.0.1", "::1::", "1::2::3"]) {
      assert.equal(ipAddress(text), undefined, text);
    }
  });
});

describe("endpointToHostPort", () => {
  it("turns an endpoint into a wire HostPort", () => {
    assert.deepEqual(endpointToHostPort({ hostname: "::1", port: 1080 }), {
      address: { type: "ipv6", host: "::1" },
      port: 1080,
    });
    assert.deepEqual(endpointToHostPort({ hostname: "::ffff:10.0.0.1", port: 80 }), {
      address: { type: "ipv4", host: "10.0.0.1" },
      port: 80,
    });
  });

  it("answers 0.0.0.0 for a hostname that is no IP (an endpoint should never hold one)", () => {
    assert.deepEqual(endpointToHostPort({ hostname: "example.com", port: 5 }), {
      address: { type: "ipv4", host: "0.0.0.0" },
      port: 5,
    });
  });
});

describe("sameIp", () => {
  it("compares canonical forms, IPv4-mapped folded", () => {
    assert.equal(sameIp("::1", "0:0:0:0:0:0:0:1"), true);
    assert.equal(sameIp("::ffff:127.0.0.1", "127.0.0.1"), true);
    assert.equal(sameIp("127.0.0.1", "127.0.0.2"), false);
    assert.equal(sameIp("::1", "127.0.0.1"), false);
  });

  it("is false when either side is not an IP, even for equal text", () => {
    assert.equal(sameIp("localhost", "localhost"), false);
    assert.equal(sameIp("127.0.0.1", "localhost"), false);
  });
});

describe("isUnspecified and isLoopback", () => {
  it("isUnspecified: 0.0.0.0 and :: in any spelling, nothing else", () => {
    for (const text of ["0.0.0.0", "::", "0:0:0:0:0:0:0:0", "::ffff:0.0.0.0"]) assert.equal(isUnspecified(text), true);
    for (const text of ["0.0.0.1", "::1", "example.com", ""]) assert.equal(isUnspecified(text), false);
  });

  it("isLoopback: 127.0.0.0/8, ::1 and the name localhost", () => {
    for (const text of ["127.0.0.1", "127.255.0.9", "::1", "[::1]", "::ffff:127.0.0.1", "localhost"]) {
      assert.equal(isLoopback(text), true, text);
    }
    for (const text of ["128.0.0.1", "126.0.0.1", "::2", "0.0.0.0", "example.com", "LOCALHOST."]) {
      assert.equal(isLoopback(text), false, text);
    }
  });
});
