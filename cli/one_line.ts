/**
 * A message made fit for one log line. A log is read line by line (grep, journald, a collector): a record split
 * over two lines is two records, the second without its time or its origin. V8's JSON.parse messages (Deno, Node)
 * quote the offending part of the input, newlines included, so an error message cannot be trusted to be one line.
 *
 * @module
 */

/**
 * Replaces each line break in `text` with the two characters `\n`, as JSON writes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oneLine } from "./one_line.ts";
 * assert.equal(oneLine('Unexpected token \'x\', ..."out": x\n}\n" is not valid JSON'), 'Unexpected token \'x\', ..."out": x\\n}\\n" is not valid JSON');
 * ```
 */
export function oneLine(text: string): string {
  return text.replace(/\r\n|\r|\n/g, "\\n");
}
