import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { decodeSocks5UdpDatagram, encodeSocks5UdpDatagram } from "../../lib/wire/socks5_udp.ts";
import {
  decodeUserPassReply,
  decodeUserPassRequest,
  encodeUserPassReply,
  encodeUserPassRequest,
} from "../../lib/wire/userpass.ts";
import { hexBytes } from "../helpers/bytes.ts";

const isError = (code: string, reply?: number) => (e: unknown) =>
  e instanceof SocksError && e.code === code && e.reply === reply;

describe("RFC 1929 username/password", () => {
  it("round-trips the exchange", () => {
    const bytes = hexBytes("01 04 46 72 65 64 06 73 65 63 72 65 74");
    const request = { username: "Fred", password: "secret" };
    assert.deepEqual(encodeUserPassRequest(request), bytes);
    assert.deepEqual(decodeUserPassRequest(bytes), { done: true, value: request, consumed: bytes.length });
    for (let n = 0; n < bytes.length; n++) {
      const r = decodeUserPassRequest(bytes.subarray(0, n));
      assert.ok(!r.done && r.needed <= bytes.length - n, `prefix ${n}`);
    }
    assert.deepEqual(encodeUserPassReply({ status: 0 }), hexBytes("01 00"));
    assert.deepEqual(decodeUserPassReply(hexBytes("01 01")), { done: true, value: { status: 1 }, consumed: 2 });
  });
  it("accepts 255-byte fields and UTF-8", () => {
    const request = { username: "u".repeat(255), password: "パスワード" };
    const r = decodeUserPassRequest(encodeUserPassRequest(request));
    assert.ok(r.done);
    assert.deepEqual(r.value, request);
  });
  it("refuses malformed requests with status 0x01", () => {
    assert.throws(() => decodeUserPassRequest(hexBytes("05 01 61 01 61")), isError("bad-version", 1));
    assert.throws(() => decodeUserPassRequest(hexBytes("01 00 01 61")), isError("bad-field", 1));
    assert.throws(() => decodeUserPassRequest(hexBytes("01 01 61 00")), isError("bad-field", 1));
    assert.throws(() => decodeUserPassRequest(hexBytes("01 01 ff 01 61")), isError("bad-field", 1));
  });
  it("refuses to encode empty or long fields", () => {
    assert.throws(() => encodeUserPassRequest({ username: "", password: "p" }), isError("bad-field"));
    assert.throws(() => encodeUserPassRequest({ username: "u", password: "" }), isError("bad-field"));
    assert.throws(() => encodeUserPassRequest({ username: "u", password: "p".repeat(256) }), isError("too-long"));
    assert.throws(() => decodeUserPassReply(hexBytes("05 00")), isError("bad-version"));
  });
});

describe("SOCKS5 UDP header (RFC 1928 section 7)", () => {
  it("round-trips IPv4, domain and IPv6 datagrams", () => {
    const datagrams = [
      { fragment: 0, destination: { address: { type: "ipv4" as const, host: "127.0.0.1" }, port: 53 } },
      { fragment: 0, destination: { address: { type: "domain" as const, host: "dns.local" }, port: 53 } },
      { fragment: 3, destination: { address: { type: "ipv6" as const, host: "::1" }, port: 5353 } },
    ];
    for (const d of datagrams) {
      const data = new Uint8Array([1, 2, 3, 0, 255]);
      const decoded = decodeSocks5UdpDatagram(encodeSocks5UdpDatagram({ ...d, data }));
      assert.deepEqual({ ...decoded, data: [...decoded.data] }, { ...d, data: [...data] });
    }
  });
  it("matches the published layout", () => {
    const bytes = hexBytes("00 00 00 01 7f 00 00 01 00 35 68 69");
    const decoded = decodeSocks5UdpDatagram(bytes);
    assert.equal(decoded.destination.port, 53);
    assert.deepEqual([...decoded.data], [0x68, 0x69]);
  });
  it("refuses truncated or malformed headers", () => {
    assert.throws(() => decodeSocks5UdpDatagram(hexBytes("00 00 00")), isError("bad-field"));
    assert.throws(() => decodeSocks5UdpDatagram(hexBytes("00 01 00 01 7f 00 00 01 00 35")), isError("bad-reserved"));
    assert.throws(() => decodeSocks5UdpDatagram(hexBytes("00 00 00 01 7f 00")), isError("bad-field"));
    assert.throws(() => decodeSocks5UdpDatagram(hexBytes("00 00 00 07 7f")), isError("bad-address-type", 8));
    assert.throws(
      () =>
        encodeSocks5UdpDatagram({
          fragment: 256,
          destination: { address: { type: "ipv4", host: "1.1.1.1" }, port: 1 },
          data: new Uint8Array(),
        }),
      isError("bad-field"),
    );
  });
});
