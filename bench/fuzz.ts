/**
 * Fuzzing at scale. By default a million cases for each parser of what a stranger sends (the table of
 * tests/helpers/parser_targets.ts: SOCKS4/5, RFC 1929, HTTP request and response heads, chunked bodies, PROXY v1/v2,
 * DNS queries, GSS-API framing, UDP datagrams and reassembly, IDENT answers), one parser after the other, printing
 * per parser the cases, crashes, inconsistent answers, slow cases, the slowest case and the heap growth. The live
 * handshake fuzzer (two servers, tests/helpers/handshake_fuzz.ts) runs only when named: `--parser handshakes`.
 *
 *   ./node_modules/.bin/deno run -A --v8-flags=--expose-gc bench/fuzz.ts [--parser NAME]... [--cases N] [--seed N]
 *
 * (also `bun bench/fuzz.ts`, `node --expose-gc --import tsx bench/fuzz.ts`). Exit status 1 when anything was found.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { PARSER_TARGETS } from "../tests/helpers/parser_targets.ts";
import { fuzzParser, type ParserFuzzReport, SLOW_CASE_MS } from "./fuzz_parsers.ts";
import { fuzzHandshakes } from "./fuzz_handshakes.ts";

const { values } = parseArgs({
  options: {
    parser: { type: "string", multiple: true },
    cases: { type: "string", default: "1000000" },
    seed: { type: "string" },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed ?? Date.now() % 2 ** 31);
const names = values.parser ?? PARSER_TARGETS.map((t) => t.name);
const known = new Set(["handshakes", ...PARSER_TARGETS.map((t) => t.name)]);
const unknown = names.filter((n) => !known.has(n));
if (!(Number.isInteger(cases) && cases > 0) || unknown.length > 0) {
  console.error(
    `usage: bench/fuzz.ts [--parser NAME]... [--cases N] [--seed N]; NAME is one of ${[...known].join(", ")}`,
  );
  process.exit(2);
}

let found = 0;
const reports: ParserFuzzReport[] = [];
for (const name of names) {
  if (name === "handshakes") {
    const started = Date.now();
    const problems = await fuzzHandshakes(cases, seed);
    found += problems.length;
    console.log(
      `handshakes: ${cases} cases (seed ${seed}), ${problems.length} problems, ${
        ((Date.now() - started) / 1000).toFixed(0)
      } s`,
    );
    for (const problem of problems.slice(0, 20)) console.log(`  ${problem}`);
    continue;
  }
  const report = fuzzParser(PARSER_TARGETS.find((t) => t.name === name)!, cases, seed);
  reports.push(report);
  found += report.crashes + report.inconsistent + report.slow;
  console.log(
    `${report.parser}: ${report.cases} cases (seed ${seed}), ${report.crashes} crashes, ${report.inconsistent} ` +
      `inconsistent, ${report.slow} over ${SLOW_CASE_MS} ms${
        report.slow ? ` (shortest ${report.shortestSlowBytes} bytes)` : ""
      }, max ${report.maxCaseMs.toFixed(1)} ms/case ` +
      `(${report.slowestBytes} bytes), heap ${(report.heapGrowthBytes / 2 ** 20).toFixed(1)} MiB, ` +
      `${report.seconds.toFixed(0)} s`,
  );
  for (const problem of report.problems) console.log(`  ${problem}`);
}
process.exit(found === 0 ? 0 : 1);
