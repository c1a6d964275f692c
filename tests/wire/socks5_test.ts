import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Socks5Command, Socks5Method, Socks5Reply } from "../../lib/wire/constants.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import {
  decodeSocks5Greeting,
  decodeSocks5MethodSelection,
  encodeSocks5Greeting,
  encodeSocks5MethodSelection,
} from "../../lib/wire/socks5_greeting.ts";
import {
  decodeSocks5Reply,
  decodeSocks5Request,
  encodeSocks5Reply,
  encodeSocks5Request,
} from "../../lib/wire/socks5_request.ts";
import { hexBytes } from "../helpers/bytes.ts";

const isError = (code: string, reply?: number) => (e: unknown) =>
  e instanceof SocksError && e.code === code && e.reply === reply;

describe("SOCKS5 method negotiation (RFC 1928 section 3)", () => {
  it("round-trips a greeting offering no-auth and username/password", () => {
    const bytes = hexBytes("05 02 00 02");
    assert.deepEqual(encodeSocks5Greeting({ methods: [0, 2] }), bytes);
    assert.deepEqual(decodeSocks5Greeting(bytes), { done: true, value: { methods: [0, 2] }, consumed: 4 });
  });
  it("keeps every method byte, GSSAPI, IANA and private ranges included", () => {
    const methods = [0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0xfe, 0xff];
    const r = decodeSocks5Greeting(encodeSocks5Greeting({ methods }));
    assert.ok(r.done);
    assert.deepEqual(r.value.methods, methods);
  });
  it("refuses NMETHODS 0 with method 0xFF", () => {
    assert.throws(() => decodeSocks5Greeting(hexBytes("05 00")), isError("bad-methods", Socks5Method.NoAcceptable));
  });
  it("refuses a wrong version with method 0xFF", () => {
    assert.throws(() => decodeSocks5Greeting(hexBytes("04 01 00")), isError("bad-version", 0xff));
  });
  it("refuses to encode 0 or 256 methods", () => {
    assert.throws(() => encodeSocks5Greeting({ methods: [] }), isError("bad-methods"));
    assert.throws(() => encodeSocks5Greeting({ methods: new Array(256).fill(0) }), isError("bad-methods"));
    assert.throws(() => encodeSocks5Greeting({ methods: [256] }), isError("bad-field"));
  });
  it("round-trips the selection, 0xFF included", () => {
    assert.deepEqual(encodeSocks5MethodSelection({ method: 0xff }), hexBytes("05 ff"));
    assert.deepEqual(decodeSocks5MethodSelection(hexBytes("05 02")), { done: true, value: { method: 2 }, consumed: 2 });
    assert.throws(() => decodeSocks5MethodSelection(hexBytes("04 00")), isError("bad-version"));
  });
});

describe("SOCKS5 requests (RFC 1928 section 4)", () => {
  const cases: [string, string, Parameters<typeof encodeSocks5Request>[0]][] = [
    ["IPv4 CONNECT", "05 01 00 01 42 66 07 63 00 50", {
      command: Socks5Command.Connect,
      destination: { address: { type: "ipv4", host: "66.102.7.99" }, port: 80 },
    }],
    ["domain CONNECT", "05 01 00 03 0b 65 78 61 6d 70 6c 65 2e 63 6f 6d 01 bb", {
      command: Socks5Command.Connect,
      destination: { address: { type: "domain", host: "example.com" }, port: 443 },
    }],
    ["IPv6 BIND", "05 02 00 04 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 1f 90", {
      command: Socks5Command.Bind,
      destination: { address: { type: "ipv6", host: "2001:db8::1" }, port: 8080 },
    }],
    ["UDP ASSOCIATE from any address", "05 03 00 01 00 00 00 00 00 00", {
      command: Socks5Command.UdpAssociate,
      destination: { address: { type: "ipv4", host: "0.0.0.0" }, port: 0 },
    }],
    ["Tor RESOLVE", "05 f0 00 03 09 74 6f 72 2e 6c 6f 63 61 6c 00 00", {
      command: Socks5Command.Resolve,
      destination: { address: { type: "domain", host: "tor.local" }, port: 0 },
    }],
    ["Tor RESOLVE_PTR", "05 f1 00 01 7f 00 00 01 00 00", {
      command: Socks5Command.ResolvePtr,
      destination: { address: { type: "ipv4", host: "127.0.0.1" }, port: 0 },
    }],
  ];
  for (const [name, hex, request] of cases) {
    it(`${name}: encode, decode, every prefix needs more`, () => {
      const bytes = hexBytes(hex);
      assert.deepEqual(encodeSocks5Request(request), bytes);
      const withTunnelData = new Uint8Array([...bytes, 0x16, 0x03]);
      assert.deepEqual(decodeSocks5Request(withTunnelData), { done: true, value: request, consumed: bytes.length });
      for (let n = 0; n < bytes.length; n++) {
        const r = decodeSocks5Request(bytes.subarray(0, n));
        assert.equal(r.done, false);
        if (!r.done) assert.ok(r.needed >= 1 && r.needed <= bytes.length - n, `prefix ${n} needs ${r.needed}`);
      }
    });
  }
  it("unknown command gets 0x07", () => {
    assert.throws(() => decodeSocks5Request(hexBytes("05 04 00 01")), isError("bad-command", 0x07));
    assert.throws(() => decodeSocks5Request(hexBytes("05 00")), isError("bad-command", 0x07));
  });
  it("unknown address types get 0x08", () => {
    for (const atyp of [0x00, 0x02, 0x05, 0xff]) {
      assert.throws(
        () => decodeSocks5Request(hexBytes(`05 01 00 ${atyp.toString(16).padStart(2, "0")} 00`)),
        isError("bad-address-type", 0x08),
      );
    }
  });
  it("wrong version, non-zero RSV, empty or non-UTF-8 domain get 0x01", () => {
    assert.throws(() => decodeSocks5Request(hexBytes("04 01 00 01")), isError("bad-version", 0x01));
    assert.throws(() => decodeSocks5Request(hexBytes("05 01 01 01")), isError("bad-reserved", 0x01));
    assert.throws(() => decodeSocks5Request(hexBytes("05 01 00 03 00 00 50")), isError("bad-address", 0x01));
    assert.throws(() => decodeSocks5Request(hexBytes("05 01 00 03 01 ff 00 50")), isError("bad-address", 0x01));
    assert.throws(() => decodeSocks5Request(hexBytes("05 01 00 03 03 61 00 62 00 50")), isError("bad-address", 0x01));
  });
  it("refuses to encode bad values", () => {
    const destination = { address: { type: "domain" as const, host: "a".repeat(256) }, port: 1 };
    assert.throws(() => encodeSocks5Request({ command: 1, destination }), isError("too-long"));
    const port = { address: { type: "ipv4" as const, host: "1.2.3.4" }, port: 70000 };
    assert.throws(() => encodeSocks5Request({ command: 1, destination: port }), isError("bad-port"));
    const ok = { address: { type: "ipv4" as const, host: "1.2.3.4" }, port: 1 };
    assert.throws(() => encodeSocks5Request({ command: 9 as 1, destination: ok }), isError("bad-command"));
    const bad4 = { address: { type: "ipv4" as const, host: "1.2.3" }, port: 1 };
    assert.throws(() => encodeSocks5Request({ command: 1, destination: bad4 }), isError("bad-address"));
  });
});

describe("SOCKS5 replies (RFC 1928 section 6)", () => {
  it("encodes every assigned code", () => {
    for (const code of Object.values(Socks5Reply)) {
      const bytes = encodeSocks5Reply({ reply: code, bound: { address: { type: "ipv4", host: "0.0.0.0" }, port: 0 } });
      assert.deepEqual(bytes, hexBytes(`05 0${code} 00 01 00 00 00 00 00 00`));
    }
  });
  it("RESOLVE reply carries the address, RESOLVE_PTR reply the name", () => {
    const resolved = { reply: 0, bound: { address: { type: "ipv6" as const, host: "::1" }, port: 0 } };
    const r1 = decodeSocks5Reply(encodeSocks5Reply(resolved));
    assert.deepEqual(r1, { done: true, value: resolved, consumed: 22 });
    const ptr = { reply: 0, bound: { address: { type: "domain" as const, host: "localhost" }, port: 0 } };
    assert.deepEqual(encodeSocks5Reply(ptr), hexBytes("05 00 00 03 09 6c 6f 63 61 6c 68 6f 73 74 00 00"));
  });
  it("decodes an unassigned REP as a number", () => {
    const r = decodeSocks5Reply(hexBytes("05 09 00 01 00 00 00 00 00 00"));
    assert.ok(r.done);
    assert.equal(r.value.reply, 9);
  });
  it("refuses a wrong version or RSV", () => {
    assert.throws(() => decodeSocks5Reply(hexBytes("00 00 00")), isError("bad-version"));
    assert.throws(() => decodeSocks5Reply(hexBytes("05 00 01")), isError("bad-reserved"));
  });
});
