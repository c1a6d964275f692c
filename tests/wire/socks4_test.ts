import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Socks4Reply } from "../../lib/wire/constants.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import {
  decodeSocks4Reply,
  decodeSocks4Request,
  encodeSocks4Reply,
  encodeSocks4Request,
} from "../../lib/wire/socks4.ts";
import { hexBytes } from "../helpers/bytes.ts";

const fred = hexBytes("04 01 00 50 42 66 07 63 46 72 65 64 00");

describe("SOCKS4 worked example (user Fred to 66.102.7.99:80)", () => {
  const request = {
    command: 1 as const,
    destination: { address: { type: "ipv4" as const, host: "66.102.7.99" }, port: 80 },
    userId: "Fred",
  };
  it("encodes to the published bytes", () => assert.deepEqual(encodeSocks4Request(request), fred));
  it("decodes from the published bytes", () => {
    assert.deepEqual(decodeSocks4Request(fred), { done: true, value: request, consumed: 13 });
  });
  it("decodes the reply 00 5A and leaves the tunnel's bytes alone", () => {
    const bytes = hexBytes("00 5A 00 50 42 66 07 63 48 54 54 50");
    const result = decodeSocks4Reply(bytes);
    assert.ok(result.done);
    assert.equal(result.value.reply, Socks4Reply.Granted);
    assert.equal(result.consumed, 8);
    assert.deepEqual(encodeSocks4Reply(result.value), bytes.subarray(0, 8));
  });
  it("does not read past the NUL: data behind the request stays", () => {
    const withData = new Uint8Array([...fred, 0x47, 0x45, 0x54]);
    const result = decodeSocks4Request(withData);
    assert.ok(result.done);
    assert.equal(result.consumed, 13);
  });
  it("asks for more on every prefix", () => {
    for (let n = 0; n < fred.length; n++) {
      const result = decodeSocks4Request(fred.subarray(0, n));
      assert.equal(result.done, false, `prefix ${n}`);
    }
  });
});

describe("SOCKS4a", () => {
  const bytes = hexBytes("04 01 01 bb 00 00 00 01 00 65 78 61 6d 70 6c 65 2e 63 6f 6d 00");
  const request = {
    command: 1 as const,
    destination: { address: { type: "domain" as const, host: "example.com" }, port: 443 },
    userId: "",
  };
  it("encodes a hostname with DSTIP 0.0.0.1", () => assert.deepEqual(encodeSocks4Request(request), bytes));
  it("decodes a hostname after the USERID", () => {
    assert.deepEqual(decodeSocks4Request(bytes), { done: true, value: request, consumed: bytes.length });
  });
  it("refuses to encode an address in 0.0.0.1-0.0.0.255: it would be read as the name marker", () => {
    for (const host of ["0.0.0.1", "0.0.0.255"]) {
      assert.throws(
        () =>
          encodeSocks4Request({ command: 1, destination: { address: { type: "ipv4", host }, port: 80 }, userId: "" }),
        (e: unknown) => e instanceof SocksError && e.code === "bad-address" && /name marker/.test(e.message),
      );
    }
    // 0.0.0.0 is no marker: it encodes (BIND uses it for "any address").
    const any = encodeSocks4Request({
      command: 2,
      destination: { address: { type: "ipv4", host: "0.0.0.0" }, port: 0 },
      userId: "",
    });
    assert.deepEqual([...any.subarray(4, 8)], [0, 0, 0, 0]);
  });
  it("recognises any 0.0.0.x with x != 0", () => {
    const r = decodeSocks4Request(hexBytes("04 02 00 15 00 00 00 ff 75 00 68 00"));
    assert.ok(r.done);
    assert.deepEqual(r.value.destination.address, { type: "domain", host: "h" });
    assert.equal(r.value.userId, "u");
  });
  it("treats 0.0.0.0 as a plain SOCKS4 address", () => {
    const r = decodeSocks4Request(hexBytes("04 01 00 15 00 00 00 00 00"));
    assert.ok(r.done);
    assert.deepEqual(r.value.destination.address, { type: "ipv4", host: "0.0.0.0" });
  });
});

describe("SOCKS4 malformed input", () => {
  const rejects = (hex: string, code: string) => () =>
    assert.throws(
      () => decodeSocks4Request(hexBytes(hex)),
      (e) => e instanceof SocksError && e.code === code && e.reply === Socks4Reply.Rejected,
    );
  it("wrong version", rejects("05 01 00 50 7f 00 00 01 00", "bad-version"));
  it("unknown command 3", rejects("04 03 00 50 7f 00 00 01 00", "bad-command"));
  it("unknown command 0", rejects("04 00", "bad-command"));
  it("USERID of 256 bytes", rejects(`04 01 00 50 7f 00 00 01 ${"61".repeat(256)}`, "too-long"));
  it("SOCKS4a hostname of 256 bytes", rejects(`04 01 00 50 00 00 00 01 00 ${"61".repeat(256)}`, "too-long"));
  it("empty SOCKS4a hostname", rejects("04 01 00 50 00 00 00 01 00 00", "bad-address"));
  it("SOCKS4a hostname that is not UTF-8", rejects("04 01 00 50 00 00 00 01 00 ff fe 00", "bad-address"));
  it("accepts a USERID of exactly 255 bytes", () => {
    assert.ok(decodeSocks4Request(hexBytes(`04 01 00 50 7f 00 00 01 ${"61".repeat(255)} 00`)).done);
  });
  it("reply with VN 4 or CD 89", () => {
    assert.throws(
      () => decodeSocks4Reply(hexBytes("04 5a")),
      (e) => e instanceof SocksError && e.code === "bad-version",
    );
    assert.throws(() => decodeSocks4Reply(hexBytes("00 59")), (e) => e instanceof SocksError && e.code === "bad-field");
  });
});

describe("SOCKS4 encoding validates", () => {
  const base = {
    command: 1 as const,
    destination: { address: { type: "ipv4" as const, host: "1.2.3.4" }, port: 80 },
    userId: "",
  };
  const fails = (request: unknown, code: string) => () =>
    assert.throws(
      () => encodeSocks4Request(request as typeof base),
      (e) => e instanceof SocksError && e.code === code,
    );
  it("port 70000", fails({ ...base, destination: { ...base.destination, port: 70000 } }, "bad-port"));
  it("NUL in USERID", fails({ ...base, userId: "a\0b" }, "bad-field"));
  it("256-byte USERID", fails({ ...base, userId: "a".repeat(256) }, "too-long"));
  it("IPv6", fails({ ...base, destination: { address: { type: "ipv6", host: "::1" }, port: 1 } }, "bad-address-type"));
  it(
    "256-byte hostname",
    fails({ ...base, destination: { address: { type: "domain", host: "a".repeat(256) }, port: 1 } }, "too-long"),
  );
  it("command 3", fails({ ...base, command: 3 }, "bad-command"));
  it("reply code 0", () => {
    assert.throws(
      () => encodeSocks4Reply({ reply: 0 as 90, bound: { address: { type: "ipv4", host: "0.0.0.0" }, port: 0 } }),
      (e) => e instanceof SocksError && e.code === "bad-field",
    );
  });
});
