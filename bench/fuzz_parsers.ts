/**
 * One parser of tests/helpers/parser_targets.ts under many cases: the same generated, mutated and random inputs and
 * the same checks as tests/wire/parsers_fuzz_test.ts (no crash, the same answer at every split), timed per case,
 * with the heap measured before and after. Run through bench/fuzz.ts: `--parser NAME`.
 *
 * @module
 */
import fc from "fast-check";
import process from "node:process";
import { checkParser, parserInputs } from "../tests/helpers/parser_check.ts";
import type { ParserTarget } from "../tests/helpers/parser_targets.ts";

const BATCH = 10_000;
/** A decode slower than this is counted as slow: no parser of at most 120 KB of input has a reason to take so long. */
export const SLOW_CASE_MS = 100;

/** What one parser's run found. */
export interface ParserFuzzReport {
  readonly parser: string;
  readonly cases: number;
  /** Cases where something other than a SocksError was thrown. */
  readonly crashes: number;
  /** Cases that answered differently when split, or out of the Decoded contract. */
  readonly inconsistent: number;
  /** Cases over {@link SLOW_CASE_MS}. */
  readonly slow: number;
  /** The input length of the shortest slow case (0 when none): a short slow input is a flaw, a long one may not be. */
  readonly shortestSlowBytes: number;
  /** The slowest decode of a whole input. */
  readonly maxCaseMs: number;
  /** Input length of the slowest case. */
  readonly slowestBytes: number;
  /** heapUsed after the run minus before, both after a collection when `gc` is exposed. */
  readonly heapGrowthBytes: number;
  readonly seconds: number;
  /** The first problems, each with the start of its input in hex. */
  readonly problems: readonly string[];
}

const collect = () => (globalThis as { gc?: () => void }).gc?.();
const hex = (bytes: Uint8Array) => [...bytes.subarray(0, 48)].map((b) => b.toString(16).padStart(2, "0")).join(" ");

function decodeMs(target: ParserTarget, bytes: Uint8Array): number {
  const started = performance.now();
  try {
    target.decode(bytes);
  } catch {
    // What was thrown is judged by checkParser.
  }
  return performance.now() - started;
}

/** Runs `cases` inputs for `target` from `seed`, printing progress to stderr every batch. */
export function fuzzParser(target: ParserTarget, cases: number, seed: number): ParserFuzzReport {
  const inputs = parserInputs(target);
  let crashes = 0;
  let inconsistent = 0;
  let slow = 0;
  let shortestSlowBytes = 0;
  let maxCaseMs = 0;
  let slowestBytes = 0;
  const problems: string[] = [];
  collect();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  for (let start = 0; start < cases; start += BATCH) {
    const batch = fc.sample(inputs, { numRuns: Math.min(BATCH, cases - start), seed: seed + start });
    for (const bytes of batch) {
      // The time of one decode of the whole input (the checks after it decode every prefix too); a slow one is
      // timed twice more and the least kept, so that a garbage collection in the middle is not blamed on it.
      let ms = decodeMs(target, bytes);
      if (ms > SLOW_CASE_MS) ms = Math.min(ms, decodeMs(target, bytes), decodeMs(target, bytes));
      const problem = checkParser(target, bytes);
      if (ms > maxCaseMs) {
        maxCaseMs = ms;
        slowestBytes = bytes.length;
      }
      if (ms > SLOW_CASE_MS) {
        slow++;
        if (shortestSlowBytes === 0 || bytes.length < shortestSlowBytes) shortestSlowBytes = bytes.length;
        if (problems.length < 5) problems.push(`slow: ${ms.toFixed(0)} ms | ${bytes.length} bytes: ${hex(bytes)}`);
      }
      if (problem) {
        if (problem.startsWith("crash:")) crashes++;
        else inconsistent++;
        if (problems.length < 5) problems.push(`${problem.slice(0, 300)} | ${bytes.length} bytes: ${hex(bytes)}`);
      }
    }
    const done = Math.min(start + BATCH, cases);
    const rate = done / ((performance.now() - started) / 1000);
    process.stderr.write(
      `${target.name}: ${done} cases, ${crashes + inconsistent} problems, ${rate.toFixed(0)} cases/s\n`,
    );
  }
  const seconds = (performance.now() - started) / 1000;
  collect();
  const heapGrowthBytes = process.memoryUsage().heapUsed - heapBefore;
  return {
    parser: target.name,
    cases,
    crashes,
    inconsistent,
    slow,
    shortestSlowBytes,
    maxCaseMs,
    slowestBytes,
    heapGrowthBytes,
    seconds,
    problems,
  };
}
