// deno-lint-ignore-file no-explicit-any -- one table holds codecs of every message type
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Decoded } from "../../lib/wire/decoded.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import {
  decodeSocks4Reply,
  decodeSocks4Request,
  encodeSocks4Reply,
  encodeSocks4Request,
} from "../../lib/wire/socks4.ts";
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
import { decodeSocks5UdpDatagram, encodeSocks5UdpDatagram } from "../../lib/wire/socks5_udp.ts";
import {
  decodeUserPassReply,
  decodeUserPassRequest,
  encodeUserPassReply,
  encodeUserPassRequest,
} from "../../lib/wire/userpass.ts";
import { parseAddress } from "../../lib/wire/address.ts";
import * as arb from "../helpers/arbitraries.ts";

const RUNS = { numRuns: 300 };
/** fast-check records have null prototypes; decoders return plain objects. */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value));

type Codec = {
  name: string;
  arbitrary: fc.Arbitrary<any>;
  encode: (m: any) => Uint8Array;
  decode: (b: Uint8Array) => Decoded<unknown>;
};
const codecs: Codec[] = [
  { name: "SOCKS4 request", arbitrary: arb.socks4Request, encode: encodeSocks4Request, decode: decodeSocks4Request },
  { name: "SOCKS4 reply", arbitrary: arb.socks4Reply, encode: encodeSocks4Reply, decode: decodeSocks4Reply },
  {
    name: "SOCKS5 greeting",
    arbitrary: arb.socks5Greeting,
    encode: encodeSocks5Greeting,
    decode: decodeSocks5Greeting,
  },
  {
    name: "SOCKS5 selection",
    arbitrary: arb.socks5Selection,
    encode: encodeSocks5MethodSelection,
    decode: decodeSocks5MethodSelection,
  },
  { name: "SOCKS5 request", arbitrary: arb.socks5Request, encode: encodeSocks5Request, decode: decodeSocks5Request },
  { name: "SOCKS5 reply", arbitrary: arb.socks5Reply, encode: encodeSocks5Reply, decode: decodeSocks5Reply },
  {
    name: "RFC 1929 request",
    arbitrary: arb.userPassRequest,
    encode: encodeUserPassRequest,
    decode: decodeUserPassRequest,
  },
  { name: "RFC 1929 reply", arbitrary: arb.userPassReply, encode: encodeUserPassReply, decode: decodeUserPassReply },
];

for (const codec of codecs) {
  describe(`${codec.name} properties`, () => {
    it("decode(encode(m)) == m, consuming exactly the message even with bytes behind it", () => {
      fc.assert(
        fc.property(codec.arbitrary, fc.uint8Array({ maxLength: 8 }), (message, trailer) => {
          const bytes = codec.encode(message);
          const result = codec.decode(new Uint8Array([...bytes, ...trailer]));
          assert.deepEqual(result, { done: true, value: plain(message), consumed: bytes.length });
        }),
        RUNS,
      );
    });
    it("every strict prefix needs more, and never more than is missing", () => {
      fc.assert(
        fc.property(codec.arbitrary, (message) => {
          const bytes = codec.encode(message);
          for (let n = 0; n < bytes.length; n++) {
            const result = codec.decode(bytes.subarray(0, n));
            assert.equal(result.done, false);
            if (!result.done) assert.ok(result.needed >= 1 && result.needed <= bytes.length - n);
          }
        }),
        { numRuns: 100 },
      );
    });
    it("random bytes give a message within them, need-more, or a SocksError: nothing else", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          try {
            const result = codec.decode(bytes);
            if (result.done) assert.ok(result.consumed >= 1 && result.consumed <= bytes.length);
            else assert.ok(result.needed >= 1);
          } catch (error) {
            assert.ok(error instanceof SocksError, String(error));
          }
        }),
        { numRuns: 1000 },
      );
    });
  });
}

describe("UDP datagram properties", () => {
  it("decode(encode(d)) == d", () => {
    fc.assert(
      fc.property(
        arb.hostPort,
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 64 }),
        (destination, fragment, data) => {
          const decoded = decodeSocks5UdpDatagram(encodeSocks5UdpDatagram({ fragment, destination, data }));
          assert.deepEqual(decoded.destination, plain(destination));
          assert.equal(decoded.fragment, fragment);
          assert.deepEqual([...decoded.data], [...data]);
        },
      ),
      RUNS,
    );
  });
  it("random bytes decode or throw a SocksError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeSocks5UdpDatagram(bytes);
        } catch (error) {
          assert.ok(error instanceof SocksError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("address text properties", () => {
  it("parseAddress(canonical) is the identity for IP addresses", () => {
    fc.assert(
      fc.property(fc.oneof(arb.ipv4, arb.ipv6), (address) => {
        assert.deepEqual(parseAddress(address.host), plain(address));
        if (address.type === "ipv6") assert.deepEqual(parseAddress(`[${address.host}]`), plain(address));
      }),
      RUNS,
    );
  });
});
