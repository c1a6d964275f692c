/**
 * Keeps a process's quota counts in step with a shared store (`--quota-store`) once a second: what was counted
 * here is added there, and the fleet's totals come back. When the store cannot be reached, tabi keeps serving and
 * counting locally (a proxy that refused everyone because its bookkeeping is down would be the worse failure); the
 * bytes counted meanwhile stay unacknowledged and are added at the first sync that works, so none is lost, and the
 * log says when the store went away and when it came back. Meanwhile each instance sees only its own new bytes, so
 * the fleet can overshoot a quota by what the others moved during the outage.
 *
 * @module
 */
import type { QuotaLedger } from "../lib/server/quota_ledger.ts";
import type { QuotaStore } from "../lib/server/quota_store.ts";

/** How often the counts are synchronised. */
export const QUOTA_SYNC_INTERVAL_MS = 1_000;

/** The synchronisation of one ledger with one store. */
export class QuotaSync {
  readonly #ledger: QuotaLedger;
  readonly #store: QuotaStore;
  readonly #log: (line: string) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> = Promise.resolve();
  #down = false;
  /** The keys to fetch even when nothing was counted for them here (the users with quotas), with their periods. */
  watched: () => Record<string, string> = () => ({});

  /** Syncs `ledger` with `store`; `log` hears when the store goes away and comes back. */
  constructor(ledger: QuotaLedger, store: QuotaStore, log: (line: string) => void) {
    this.#ledger = ledger;
    this.#store = store;
    this.#log = log;
  }

  /** One synchronisation (one at a time); never rejects. */
  sync(): Promise<void> {
    this.#running = this.#running.then(async () => {
      const pending = this.#ledger.unsaved();
      // Users with quotas are fetched from the first sync on, so that what other instances counted holds here too;
      // a client address (no users) is fetched once it was counted here: it can overshoot by one sync's bytes.
      const keys: Record<string, string> = this.watched();
      for (const [key, { period }] of Object.entries(this.#ledger.snapshot())) keys[key] = period;
      try {
        const totals = await this.#store.sync(pending, keys);
        this.#ledger.acknowledge(pending);
        this.#ledger.load(totals);
        if (this.#down) this.#log("quota store reachable again: local counts added, totals resynchronised");
        this.#down = false;
      } catch (error) {
        if (!this.#down) {
          this.#log(
            `quota store unreachable (${(error as Error).message}): serving on, counting locally until it answers`,
          );
        }
        this.#down = true;
      }
    });
    return this.#running;
  }

  /** Syncs every {@link QUOTA_SYNC_INTERVAL_MS} until {@link QuotaSync.stop}. */
  start(): void {
    this.#timer = setInterval(() => void this.sync(), QUOTA_SYNC_INTERVAL_MS);
  }

  /** Stops, with a last synchronisation, and closes the store. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.sync();
    await this.#store.close();
  }
}
