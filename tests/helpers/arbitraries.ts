/** fast-check generators for every message type of lib/wire. */
import fc from "fast-check";
import { type Address, ipv4FromBytes, ipv6FromBytes } from "../../lib/wire/address.ts";
import { Socks4Command, Socks4Reply, Socks5Command } from "../../lib/wire/constants.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Text that encodes to `min`-`max` UTF-8 bytes, without NUL, and survives a UTF-8 round trip. */
export function utf8Field(min: number, max: number): fc.Arbitrary<string> {
  return fc.string({ unit: "binary", minLength: min, maxLength: max }).filter((s) => {
    const bytes = encoder.encode(s);
    return bytes.length >= min && bytes.length <= max && !bytes.includes(0) && decoder.decode(bytes) === s;
  });
}

export const port: fc.Arbitrary<number> = fc.integer({ min: 0, max: 65535 });
export const ipv4: fc.Arbitrary<Address & { type: "ipv4" }> = fc.uint8Array({ minLength: 4, maxLength: 4 })
  .map((b) => ({ type: "ipv4" as const, host: ipv4FromBytes(b) }));
export const ipv6: fc.Arbitrary<Address & { type: "ipv6" }> = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  // Mostly-zero addresses exercise "::" compression and the IPv4-mapped form.
  fc.tuple(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ minLength: 1, maxLength: 6 })).map(([at, b]) => {
    const bytes = new Uint8Array(16);
    bytes.set(b.subarray(0, 16 - at), at);
    return bytes;
  }),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) =>
    new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...b])
  ),
).map((b) => ({ type: "ipv6" as const, host: ipv6FromBytes(b) }));
export const domain: fc.Arbitrary<Address & { type: "domain" }> = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,254}$/),
  utf8Field(1, 255),
).map((host) => ({ type: "domain" as const, host }));
export const address: fc.Arbitrary<Address> = fc.oneof(ipv4, ipv6, domain);
export const hostPort = fc.record({ address, port });

export const socks4Request = fc.record({
  command: fc.constantFrom(Socks4Command.Connect, Socks4Command.Bind),
  // 0.0.0.1-0.0.0.255 is SOCKS4a's name marker, not an address a SOCKS4 request can carry.
  destination: fc.record({ address: fc.oneof(ipv4.filter((a) => !/^0\.0\.0\.[1-9]/.test(a.host)), domain), port }),
  userId: utf8Field(0, 255),
});
export const socks4Reply = fc.record({
  reply: fc.constantFrom(...Object.values(Socks4Reply)),
  bound: fc.record({ address: ipv4, port }),
});
export const socks5Greeting = fc.record({
  methods: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 255 }),
});
export const socks5Selection = fc.record({ method: fc.integer({ min: 0, max: 255 }) });
export const socks5Request = fc.record({
  command: fc.constantFrom(...Object.values(Socks5Command)),
  destination: hostPort,
});
export const socks5Reply = fc.record({ reply: fc.integer({ min: 0, max: 255 }), bound: hostPort });
export const userPassRequest = fc.record({ username: utf8Field(1, 255), password: utf8Field(1, 255) });
export const userPassReply = fc.record({ status: fc.integer({ min: 0, max: 255 }) });
