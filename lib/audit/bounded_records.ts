/**
 * The audit's records, bounded: a program that floods the proxy or the DNS responder (a lookup loop made 225,000
 * lookups in 12 s, half a gigabyte and a 42 MB report) must not take the audit's memory. The first records are
 * kept; after that only those that decide the verdict (about the audit site), up to a second bound; the rest are
 * counted, and the report says how many were dropped.
 *
 * @module
 */

/** The bounds, per kind of record (requests to the proxy, DNS lookups). */
export const AuditRecordLimits = {
  /** Records kept as they come. */
  kept: 1000,
  /** Records about the audit site kept after that, so a flood of other names cannot hide the one that matters. */
  siteKeptPastLimit: 100,
} as const;

/** A list that keeps what {@link AuditRecordLimits} allows and counts the rest. */
export interface BoundedRecords<T> {
  /** The records kept, in arrival order. */
  readonly items: readonly T[];
  /** How many records were dropped. */
  readonly dropped: number;
  /** Adds a record, or counts it as dropped; `aboutSite` says whether it concerns the audit site. */
  add(record: T, aboutSite: boolean): void;
}

/**
 * A new empty list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AuditRecordLimits, boundedRecords } from "./bounded_records.ts";
 * const records = boundedRecords<number>();
 * for (let i = 0; i < AuditRecordLimits.kept + 5; i++) records.add(i, false);
 * records.add(-1, true);
 * assert.equal(records.items.length, AuditRecordLimits.kept + 1);
 * assert.equal(records.items.at(-1), -1);
 * assert.equal(records.dropped, 5);
 * ```
 */
export function boundedRecords<T>(): BoundedRecords<T> {
  const items: T[] = [];
  let dropped = 0;
  let sitePastLimit = 0;
  return {
    items,
    get dropped() {
      return dropped;
    },
    add(record, aboutSite) {
      if (items.length < AuditRecordLimits.kept) items.push(record);
      else if (aboutSite && sitePastLimit < AuditRecordLimits.siteKeptPastLimit) {
        sitePastLimit++;
        items.push(record);
      } else dropped++;
    },
  };
}
