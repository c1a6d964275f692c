/**
 * `--state-dir DIR`: the quota counts saved to `DIR/quota.json` once a second while they change (written to a
 * temporary file, then renamed over the old one, so a crash leaves the last whole state), read back at start and at
 * every SIGHUP, and saved once more at a clean stop. A crash loses at most the bytes counted in the last second.
 *
 * @module
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { QuotaLedger, SavedCount } from "../lib/server/quota_ledger.ts";

/** How often changed counts are saved: the most a crash can lose is what was counted in this long. */
export const STATE_SAVE_INTERVAL_MS = 1_000;

/** The counts of a ledger kept in a state directory. */
export class StateDir {
  readonly #file: string;
  readonly #dir: string;
  readonly #ledger: QuotaLedger;
  #timer: ReturnType<typeof setInterval> | undefined;
  #writing: Promise<void> = Promise.resolve();

  /** The state of `ledger` in `dir`. */
  constructor(dir: string, ledger: QuotaLedger) {
    this.#dir = dir;
    this.#file = join(dir, "quota.json");
    this.#ledger = ledger;
  }

  /** Reads the saved counts into the ledger (adding what it counted since its last save); none saved yet is fine. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#file, "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return;
      throw error;
    }
    const saved = JSON.parse(text) as { counts?: Record<string, SavedCount> };
    this.#ledger.load(saved.counts ?? {});
  }

  /** Writes the counts now if they changed (one write at a time). */
  save(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      if (!this.#ledger.dirty) return;
      const counts = this.#ledger.snapshot();
      this.#ledger.saved();
      await mkdir(this.#dir, { recursive: true });
      const temporary = `${this.#file}.${Date.now()}.tmp`;
      await writeFile(temporary, `${JSON.stringify({ counts })}\n`, { mode: 0o600 });
      await rename(temporary, this.#file);
    });
    return this.#writing;
  }

  /** Saves every {@link STATE_SAVE_INTERVAL_MS} until {@link StateDir.stop}; `onError` hears failed writes. */
  start(onError: (error: Error) => void): void {
    this.#timer = setInterval(() => void this.save().catch(onError), STATE_SAVE_INTERVAL_MS);
  }

  /** Stops the timer and saves a last time. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.save();
  }
}
