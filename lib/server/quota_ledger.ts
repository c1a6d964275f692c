/**
 * The bytes each user (or client address) moved in the current quota period, kept so that they can be saved and
 * read back: what was counted since the last save is kept apart, so that reading a saved state back (at a reload,
 * or from another instance's store) adds it instead of losing it.
 *
 * @module
 */

/** The length of a quota period: a calendar day, ISO week (from Monday) or month, in UTC. */
export type QuotaPeriod = "day" | "week" | "month";

/** The quota periods, for checks and messages. */
export const QUOTA_PERIODS: readonly QuotaPeriod[] = ["day", "week", "month"] as const;

/**
 * The name of the period `now` falls in: `2026-12-07` (day), `2026-W50` style is avoided for sorting's sake, so a
 * week is named by its Monday, `week-2026-12-07`; a month `2026-12`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { periodOf } from "./quota_ledger.ts";
 * const sunday = new Date("2026-12-06T23:59:59Z");
 * assert.equal(periodOf("day", sunday), "2026-12-06");
 * assert.equal(periodOf("week", sunday), "week-2026-11-30");
 * assert.equal(periodOf("month", sunday), "2026-12");
 * ```
 */
export function periodOf(period: QuotaPeriod, now: Date): string {
  const day = now.toISOString().slice(0, 10);
  if (period === "day") return day;
  if (period === "month") return day.slice(0, 7);
  const monday = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7));
  return `week-${monday.toISOString().slice(0, 10)}`;
}

/** One key's count as saved: the period's name and the bytes moved in it. */
export interface SavedCount {
  /** The period the count belongs to, named as `periodOf` names it (`2026-12-07`, `week-2026-11-30`, `2026-12`). */
  readonly period: string;
  /** The bytes counted in that period, both directions together. */
  readonly bytes: number;
}

interface Count {
  period: string;
  /** Bytes of the period, saved ones included. */
  bytes: number;
  /** Bytes counted since the last save. */
  unsaved: number;
}

/** The counts of every key (`user:NAME`, `client:IP`). */
export class QuotaLedger {
  readonly #counts = new Map<string, Count>();

  /**
   * The bytes `key` moved in `period` (0 in a new period).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { QuotaLedger } from "./quota_ledger.ts";
   * const ledger = new QuotaLedger();
   * ledger.add("user:alice", "2026-12-07", 10);
   * assert.equal(ledger.used("user:alice", "2026-12-07"), 10);
   * assert.equal(ledger.used("user:alice", "2026-12-08"), 0);
   * ledger.load({ "user:alice": { period: "2026-12-07", bytes: 100 } });
   * assert.equal(ledger.used("user:alice", "2026-12-07"), 110); // the saved 100 and the 10 not saved yet
   * ```
   */
  used(key: string, period: string): number {
    const count = this.#counts.get(key);
    return count === undefined || count.period !== period ? 0 : count.bytes;
  }

  /** Counts `bytes` for `key` in `period`; a new period starts from 0. */
  add(key: string, period: string, bytes: number): void {
    let count = this.#counts.get(key);
    if (count === undefined || count.period !== period) this.#counts.set(key, count = { period, bytes: 0, unsaved: 0 });
    count.bytes += bytes;
    count.unsaved += bytes;
  }

  /** True when something was counted since the last {@link QuotaLedger.saved}. */
  get dirty(): boolean {
    for (const count of this.#counts.values()) if (count.unsaved > 0) return true;
    return false;
  }

  /** Every count, as it would be saved. */
  snapshot(): Record<string, SavedCount> {
    const out: Record<string, SavedCount> = {};
    for (const [key, { period, bytes }] of this.#counts) out[key] = { period, bytes };
    return out;
  }

  /** The bytes counted since the last save or acknowledgement, per key: what a shared store is to add up. */
  unsaved(): Record<string, SavedCount> {
    const out: Record<string, SavedCount> = {};
    for (const [key, count] of this.#counts) {
      if (count.unsaved > 0) out[key] = { period: count.period, bytes: count.unsaved };
    }
    return out;
  }

  /**
   * Marks `sent` (an earlier {@link QuotaLedger.unsaved}) as stored, keeping what was counted since: a store that
   * failed is simply not acknowledged, and the bytes are sent again next time.
   */
  acknowledge(sent: Readonly<Record<string, SavedCount>>): void {
    for (const [key, entry] of Object.entries(sent)) {
      const count = this.#counts.get(key);
      if (count !== undefined && count.period === entry.period) {
        count.unsaved = Math.max(0, count.unsaved - entry.bytes);
      }
    }
  }

  /** Marks everything saved (after a snapshot was written). */
  saved(): void {
    for (const count of this.#counts.values()) count.unsaved = 0;
  }

  /**
   * Reads saved counts back: each key's count becomes the saved one plus what was counted here since the last save
   * (a count of another period than the saved one keeps the newer period).
   */
  load(saved: Readonly<Record<string, SavedCount>>): void {
    for (const [key, entry] of Object.entries(saved)) {
      const count = this.#counts.get(key);
      if (count === undefined) {
        this.#counts.set(key, { period: entry.period, bytes: entry.bytes, unsaved: 0 });
      } else if (count.period === entry.period) {
        count.bytes = entry.bytes + count.unsaved;
      } else if (entry.period > count.period) {
        this.#counts.set(key, { period: entry.period, bytes: entry.bytes, unsaved: 0 });
      }
    }
  }
}
