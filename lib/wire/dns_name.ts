/**
 * Domain names in DNS messages (RFC 1035 sections 3.1 and 4.1.4): reading one, compression pointers included, and
 * writing one uncompressed. Sans-I/O.
 *
 * @module
 */
import { SocksError } from "./socks_error.ts";

/** Limits of a name on the wire (RFC 1035 section 2.3.4). */
export const DnsNameLimit = {
  /** Octets of a whole name: every label with its length octet, and the root's zero. */
  name: 255,
  /** Octets of one label. */
  label: 63,
} as const;

/** A name read from a message: its labels' bytes, and where the bytes after it start. */
export interface DnsName {
  /** The labels as sent, without the root's empty label. */
  readonly labels: readonly Uint8Array[];
  /** The offset right after the name where it appears (after its first pointer, if it has one). */
  readonly end: number;
}

const POINTER = 0xc0;
const decoder = new TextDecoder();

function bad(why: string): SocksError {
  return new SocksError("bad-field", why);
}

/**
 * Reads the name at `offset` of `message`, following compression pointers. A pointer must point before every
 * place this name has been read from so far: the offsets it jumps to fall strictly, so a loop (a pointer to itself,
 * or two that point at each other) is an error rather than a hang. The name's length is checked as it grows, so a
 * chain of pointers cannot build one longer than 255 octets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dnsNameText, readDnsName } from "./dns_name.ts";
 * // "a.org" at offset 0, then "b" followed by a pointer to offset 2 ("org").
 * const message = new Uint8Array([1, 0x61, 3, 0x6f, 0x72, 0x67, 0, 1, 0x62, 0xc0, 2]);
 * assert.equal(dnsNameText(readDnsName(message, 7)), "b.org");
 * assert.throws(() => readDnsName(new Uint8Array([0xc0, 0]), 0), /loop/);
 * ```
 */
export function readDnsName(message: Uint8Array, offset: number): DnsName {
  const labels: Uint8Array[] = [];
  let at = offset;
  let floor = offset;
  let end: number | undefined;
  let octets = 0;
  for (;;) {
    const length = message[at];
    if (length === undefined) throw bad("DNS name runs past the message");
    if ((length & POINTER) === POINTER) {
      const low = message[at + 1];
      if (low === undefined) throw bad("DNS compression pointer runs past the message");
      const target = ((length & ~POINTER) << 8) | low;
      if (target >= floor) throw bad("DNS compression pointer does not point backwards (a loop)");
      end ??= at + 2;
      at = floor = target;
      continue;
    }
    // 0x40 and 0x80 are the extended label types RFC 6891 section 5 retired: nobody sends them.
    if (length & POINTER) throw bad(`DNS label type 0x${(length & POINTER).toString(16)} is not supported`);
    octets += length + 1;
    if (octets > DnsNameLimit.name) throw bad(`DNS name longer than ${DnsNameLimit.name} octets`);
    if (length === 0) break;
    if (at + 1 + length > message.length) throw bad("DNS label runs past the message");
    labels.push(message.subarray(at + 1, at + 1 + length));
    at += 1 + length;
  }
  return { labels, end: end ?? at + 1 };
}

/** The name as text: labels joined with dots, no trailing dot (the root is ""). */
export function dnsNameText(name: Pick<DnsName, "labels">): string {
  return name.labels.map((label) => decoder.decode(label)).join(".");
}

/**
 * Writes labels as an uncompressed name, the root's zero included; throws SocksError "bad-field" for an empty or
 * overlong label or a name over 255 octets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeDnsName } from "./dns_name.ts";
 * assert.deepEqual([...encodeDnsName("a.org")], [1, 0x61, 3, 0x6f, 0x72, 0x67, 0]);
 * ```
 */
export function encodeDnsName(name: string | readonly Uint8Array[]): Uint8Array {
  const encoder = new TextEncoder();
  const labels = typeof name === "string"
    ? (name === "" ? [] : name.replace(/\.$/, "").split(".").map((label) => encoder.encode(label)))
    : name;
  const length = labels.reduce((n, label) => n + label.length + 1, 1);
  if (length > DnsNameLimit.name) throw bad(`DNS name longer than ${DnsNameLimit.name} octets`);
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const label of labels) {
    if (label.length === 0 || label.length > DnsNameLimit.label) {
      throw bad(`DNS label of ${label.length} octets (1 to ${DnsNameLimit.label})`);
    }
    bytes[at] = label.length;
    bytes.set(label, at + 1);
    at += label.length + 1;
  }
  return bytes;
}
