/**
 * Every parser of what a stranger sends (tests/helpers/parser_targets.ts) under a few thousand generated, mutated
 * and random inputs per runtime: a documented answer or a SocksError, never a crash; the same answer however the
 * bytes are split; valid messages decoded to what they were made from. bench/fuzz.ts runs the same checks a
 * million times per parser.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkParser, checkRoundTrip, parserInputs } from "../helpers/parser_check.ts";
import { PARSER_TARGETS } from "../helpers/parser_targets.ts";

const CASES = 2000;
const ROUND_TRIPS = 200;

for (const target of PARSER_TARGETS) {
  describe(`fuzzing ${target.name}`, () => {
    it("valid messages decode to what they were made from", () => {
      fc.assert(
        fc.property(target.valid, fc.uint8Array({ maxLength: 8 }), (message, trailer) => {
          assert.equal(checkRoundTrip(target, message.bytes, message.value, trailer), undefined);
        }),
        { numRuns: ROUND_TRIPS },
      );
    });
    it(`${CASES} mutated and random inputs: no crash, the same answer at every split`, () => {
      fc.assert(
        fc.property(parserInputs(target), (bytes) => {
          assert.equal(checkParser(target, bytes), undefined);
        }),
        { numRuns: CASES },
      );
    });
  });
}
