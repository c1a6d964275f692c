/**
 * The store a fleet of tabi instances shares quota counts through (`--quota-store`): each instance adds what it
 * counted and reads back the fleet's totals. The interface lives here; the Redis one is at the edge (cli/), since it
 * loads an npm client.
 *
 * @module
 */
import type { SavedCount } from "./quota_ledger.ts";

/** A shared store of quota counts. */
export interface QuotaStore {
  /**
   * Adds `increments` (bytes per key and period) to the shared counts, and returns the shared count of every key in
   * `keys` (key to its current period) after the addition. Rejects when the store cannot be reached: nothing was
   * added then, or the caller cannot tell, so it sends the same increments again later (a store adds them once per
   * call that resolves).
   */
  sync(
    increments: Readonly<Record<string, SavedCount>>,
    keys: Readonly<Record<string, string>>,
  ): Promise<Record<string, SavedCount>>;
  /** Lets go of the connection. */
  close(): Promise<void>;
}
