/**
 * What every parser of a stranger's bytes must do, checked on one input: answer a message within the bytes, ask
 * for more, or refuse with a SocksError (anything else thrown is a crash); and, for the incremental decoders, answer
 * the same whichever way the bytes arrive: every strict prefix of a complete message asks for at most what is
 * missing, no prefix of refused or unfinished bytes is a complete message, and a decoder fed byte by byte ends
 * where the one that saw everything at once did. The generators of inputs are here too.
 */
import fc from "fast-check";
import type { Decoded } from "../../lib/wire/decoded.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { mutateAll, mutation } from "./mutations.ts";
import { canonical, type ParserTarget } from "./parser_targets.ts";

/** A decoder's answer, in a form that compares as text. */
type Outcome =
  | { readonly kind: "complete"; readonly value: string; readonly consumed: number }
  | { readonly kind: "need"; readonly needed: number }
  | { readonly kind: "refused"; readonly code: string };

/** Thrown out of {@link outcomeOf} for anything that is not a documented answer: the check's finding. */
class Problem extends Error {}

function outcomeOf(decode: (bytes: Uint8Array) => Decoded<unknown>, bytes: Uint8Array, whole = false): Outcome {
  let result: Decoded<unknown>;
  try {
    result = decode(bytes);
  } catch (error) {
    if (error instanceof SocksError) return { kind: "refused", code: error.code };
    throw new Problem(`crash: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  }
  if (result.done) {
    // A whole-datagram decoder takes every byte (none, for an empty sequence); an incremental one at least one.
    if (whole ? result.consumed !== bytes.length : !(result.consumed >= 1 && result.consumed <= bytes.length)) {
      throw new Problem(`complete with consumed ${result.consumed} of ${bytes.length} bytes`);
    }
    return { kind: "complete", value: canonical(result.value), consumed: result.consumed };
  }
  if (!(Number.isInteger(result.needed) && result.needed >= 1)) throw new Problem(`needs ${result.needed} bytes`);
  return { kind: "need", needed: result.needed };
}

/** Every prefix length below `length` when that is few; otherwise the first and last 64 and 128 in between. */
function splitPoints(length: number): number[] {
  if (length <= 512) return Array.from({ length }, (_, n) => n);
  const points = new Set<number>();
  for (let n = 0; n < 64; n++) points.add(n).add(length - 1 - n);
  for (let k = 1; k <= 128; k++) points.add(Math.floor((k * length) / 130));
  return [...points].sort((a, b) => a - b);
}

function prefixProblem(full: Outcome, prefix: Outcome, n: number): string | undefined {
  if (full.kind === "complete") {
    if (n < full.consumed) {
      if (prefix.kind !== "need") return `prefix of ${n} bytes: ${prefix.kind}, the whole is complete`;
      if (n + prefix.needed > full.consumed) {
        return `prefix of ${n} bytes asks for ${prefix.needed} more; the message ends at ${full.consumed}`;
      }
    } else if (canonical(prefix) !== canonical(full)) return `prefix of ${n} bytes decodes differently`;
  } else if (prefix.kind === "complete") {
    return `prefix of ${n} bytes is complete, the whole is ${full.kind}`;
  }
  return undefined;
}

/**
 * Checks `target` on `bytes`; answers what is wrong, or undefined. The input is decoded once whole, then (for an
 * incremental decoder) at every split point, and fed byte by byte to a fresh stateful decoder where there is one.
 */
export function checkParser(target: ParserTarget, bytes: Uint8Array): string | undefined {
  try {
    const full = outcomeOf(target.decode, bytes, !target.incremental);
    if (!target.incremental) return undefined;
    if (target.fresh) {
      // A stateful decoder is fed the same buffer growing a byte at a time, as a slow client sends it.
      const decoder = target.fresh();
      let last: Outcome = { kind: "need", needed: 1 };
      for (let n = 1; n <= bytes.length && last.kind === "need"; n++) {
        last = outcomeOf(decoder, bytes.subarray(0, n));
        if (last.kind === "need") {
          const problem = prefixProblem(full, last, n);
          if (problem) return `byte by byte: ${problem}`;
        }
      }
      if (last.kind !== full.kind || (last.kind === "complete" && canonical(last) !== canonical(full))) {
        return `byte by byte: ends ${canonical(last)}, at once ${canonical(full)}`;
      }
      return undefined;
    }
    // Past the end of a complete message the prefixes hold the same message: its own end is checked, not the rest.
    const upTo = full.kind === "complete" ? full.consumed + 1 : bytes.length;
    for (const n of splitPoints(upTo)) {
      const problem = prefixProblem(full, outcomeOf(target.decode, bytes.subarray(0, n)), n);
      if (problem) return problem;
    }
    return undefined;
  } catch (error) {
    if (error instanceof Problem) return error.message;
    throw error;
  }
}

/**
 * Inputs for `target`: valid messages, valid messages under one to three mutations (most of them), and noise.
 */
export function parserInputs(target: ParserTarget): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 1, arbitrary: target.valid.map((m) => m.bytes) },
    {
      weight: 8,
      arbitrary: fc.tuple(target.valid, fc.array(mutation, { minLength: 1, maxLength: 3 }))
        .map(([m, mutations]) => mutateAll(m.bytes, mutations)),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  );
}

/**
 * Checks that a valid message decodes to what it was made from, consuming exactly it when bytes follow (for an
 * incremental decoder); answers what is wrong, or undefined.
 */
export function checkRoundTrip(target: ParserTarget, bytes: Uint8Array, value: unknown, trailer: Uint8Array) {
  const input = target.incremental ? new Uint8Array([...bytes, ...trailer]) : bytes;
  const expected = { kind: "complete", value: canonical(value), consumed: bytes.length };
  try {
    const got = outcomeOf(target.decode, input, !target.incremental);
    return canonical(got) === canonical(expected)
      ? undefined
      : `decoded ${canonical(got)}, made ${canonical(expected)}`;
  } catch (error) {
    if (error instanceof Problem) return error.message;
    throw error;
  }
}
