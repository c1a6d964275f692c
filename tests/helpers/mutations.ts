/**
 * Mutations of valid messages for the parser fuzzer: bit flips, bytes set to the edges of their range, 16-bit
 * length fields that lie, truncation, deletion, insertion of noise or of the bytes parsers look for (CR, LF, NUL,
 * separators, huge numbers), runs of blanks, and a slice repeated many times (the inputs that make a backtracking
 * regex slow).
 * Each mutation is a plain record, so fast-check can generate, replay and shrink it.
 */
import fc from "fast-check";

/** One edit of a byte string; `at` and `value` are taken modulo what fits. */
export interface Mutation {
  readonly kind: "flip" | "set" | "u16" | "truncate" | "delete" | "insert" | "token" | "repeat" | "blanks";
  readonly at: number;
  readonly value: number;
  readonly bytes: Uint8Array;
}

/** Bytes parsers of text and binary protocols give meaning to: every one is a chance to read a message wrongly. */
const TOKENS: readonly string[] = [
  "\r\n",
  "\r",
  "\n",
  "\r\n\r\n",
  "\0",
  " ",
  "\t",
  ":",
  ";",
  ",",
  "=",
  '"',
  "\\",
  "0",
  "00",
  "-1",
  "65536",
  "99999",
  "ffffffffffffffff",
  "9999999999999999",
  "HTTP/1.1",
  "chunked",
  "Content-Length: ",
  "Transfer-Encoding: chunked",
  "PROXY ",
  "TCP4",
  "TCP6",
  "UNKNOWN",
  "USERID",
  "ERROR",
  "\x80",
  "\xff",
];
const tokenBytes = TOKENS.map((t) => Uint8Array.from(t, (c) => c.charCodeAt(0)));
/** Values a lying length or type byte is set to: the edges of a byte and of a signed byte. */
const EDGE_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x7f, 0x80, 0xfe, 0xff] as const;
const EDGE_U16 = [0x0000, 0x0001, 0x00ff, 0x0100, 0x7fff, 0x8000, 0xfffe, 0xffff] as const;

/** An arbitrary mutation. */
export const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("flip", "set", "u16", "truncate", "delete", "insert", "token", "repeat", "blanks"),
  at: fc.nat(),
  value: fc.nat(),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
});

/** Applies one mutation; the input is not changed. */
export function mutate(input: Uint8Array, m: Mutation): Uint8Array {
  const at = m.at % (input.length + 1);
  const splice = (insert: Uint8Array, removed = 0) => {
    const out = new Uint8Array(input.length - removed + insert.length);
    out.set(input.subarray(0, at));
    out.set(insert, at);
    out.set(input.subarray(at + removed), at + insert.length);
    return out;
  };
  switch (m.kind) {
    case "flip": {
      if (input.length === 0) return input;
      const out = input.slice();
      out[m.at % input.length] ^= 1 << (m.value % 8);
      return out;
    }
    case "set": {
      if (input.length === 0) return input;
      const out = input.slice();
      out[m.at % input.length] = m.value % 3 === 0 ? m.bytes[0] : EDGE_BYTES[m.value % EDGE_BYTES.length];
      return out;
    }
    case "u16": {
      if (input.length < 2) return input;
      const out = input.slice();
      const i = m.at % (input.length - 1);
      const v = m.value % 3 === 0 ? (m.bytes[0] << 8) | (m.bytes[1] ?? 0) : EDGE_U16[m.value % EDGE_U16.length];
      out[i] = v >> 8;
      out[i + 1] = v & 0xff;
      return out;
    }
    case "truncate":
      return input.subarray(0, at);
    case "delete":
      return splice(new Uint8Array(), Math.min(1 + (m.value % 16), input.length - at));
    case "insert":
      return splice(m.bytes);
    case "token":
      return splice(tokenBytes[m.value % tokenBytes.length]);
    case "blanks": {
      // A run of SP and HTAB: whitespace is optional around many fields, and a run of it between two other bytes is
      // what makes a backtracking pattern such as /[ \t]+$/ quadratic. One in four runs is long (up to 30,000).
      const length = m.value % 4 === 0 ? 1 + (m.value % 30_000) : 1 + (m.value % 64);
      const run = new Uint8Array(length).fill(m.bytes[0] % 3 === 0 ? 0x09 : 0x20);
      if (m.bytes[0] % 3 === 2) { for (let i = 1; i < length; i += 2) run[i] = 0x09; }
      return splice(run);
    }
    case "repeat": {
      // A slice of the message written many times over: long runs of one byte or of one small pattern.
      const slice = input.subarray(at, at + 1 + (m.bytes[0] % 4));
      // Mostly short runs; one in 32 long enough (up to 20,000 copies) for a quadratic scan to show. Long inputs
      // are rare because every check of one decodes all its prefixes.
      const times = m.value % 32 === 0 ? 1 + (m.value % 20_000) : 1 + (m.value % 64);
      const run = new Uint8Array(slice.length * times);
      for (let i = 0; i < times; i++) run.set(slice, i * slice.length);
      return splice(run);
    }
  }
}

/** Applies mutations in order. */
export function mutateAll(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  return mutations.reduce(mutate, input);
}
