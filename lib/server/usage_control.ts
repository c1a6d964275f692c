/**
 * Bandwidth and quotas per user (or, on a server without users, per client address): the limits, the refusal of
 * a request once the quota is spent, and the relay meter of a limited tunnel. Every tunnel of one key shares one
 * rate limiter per direction and one count, so a user's limits hold over all their tunnels together.
 *
 * @module
 */
import type { RelayMeter } from "../net/relay_result.ts";
import { RateLimiter } from "../time/rate_limiter.ts";
import { SocksError } from "../wire/socks_error.ts";
import { periodOf, type QuotaLedger, type QuotaPeriod } from "./quota_ledger.ts";

/** The limits of one user or client address. */
export interface UsageLimit {
  /** The combined rate of all the key's tunnels, each direction on its own, in bytes per second. */
  readonly bytesPerSecond?: number;
  /** The bytes (both directions) the key may move in a period. */
  readonly quotaBytes?: number;
  /** The quota's period; default "month". */
  readonly quotaPeriod?: QuotaPeriod;
}

/** The two rate limiters of a key. */
interface Limiters {
  readonly up: RateLimiter | undefined;
  readonly down: RateLimiter | undefined;
}

/** Who is limited how, and the counts; kept across reloads (the limiters and ledger carry over). */
export class UsageControl {
  readonly #users: ReadonlyMap<string, UsageLimit>;
  readonly #client: UsageLimit | undefined;
  readonly #limiters: Map<string, Limiters>;
  /** The counts of every key, saved and read back by the edge (`--state-dir`, `--quota-store`). */
  readonly ledger: QuotaLedger;
  /** Told of every refusal for a spent quota (metrics). */
  readonly onRefusal: ((key: string) => void) | undefined;

  /**
   * `users`: limits by user name; `client`: the limits of each client address, for requests without a user.
   * `previous`: the control this one replaces at a reload, whose limiters carry over.
   */
  constructor(
    users: ReadonlyMap<string, UsageLimit>,
    client: UsageLimit | undefined,
    ledger: QuotaLedger,
    previous?: UsageControl,
    onRefusal?: (key: string) => void,
  ) {
    this.#users = users;
    this.#client = client;
    this.ledger = ledger;
    this.#limiters = previous === undefined ? new Map() : previous.#limiters;
    // A changed rate takes effect for new limiters: drop those of keys whose limits changed.
    if (previous) {
      for (const key of this.#limiters.keys()) {
        const before = previous.#limitOf(key);
        const after = this.#limitOf(key);
        if (before?.bytesPerSecond !== after?.bytesPerSecond) this.#limiters.delete(key);
      }
    }
    this.onRefusal = onRefusal;
  }

  /** True when no key has a limit (the common case: nothing to do per tunnel). */
  get empty(): boolean {
    return this.#users.size === 0 && this.#client === undefined;
  }

  #limitOf(key: string): UsageLimit | undefined {
    if (key.startsWith("user:")) return this.#users.get(key.slice(5));
    return this.#client;
  }

  /** The key a request counts under: its user's, else (without users) its client address's; undefined: unlimited. */
  keyOf(user: string | undefined, client: string): string | undefined {
    if (user !== undefined) return this.#users.has(user) ? `user:${user}` : undefined;
    return this.#client === undefined ? undefined : `client:${client}`;
  }

  /**
   * Throws SocksError "quota-exceeded" (SOCKS5 0x02, SOCKS4 91, HTTP 403) when the key's quota is spent.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { QuotaLedger } from "./quota_ledger.ts";
   * import { UsageControl } from "./usage_control.ts";
   * const usage = new UsageControl(new Map([["alice", { quotaBytes: 10, quotaPeriod: "day" }]]), undefined, new QuotaLedger());
   * usage.checkQuota(usage.keyOf("alice", "127.0.0.1"));
   * usage.meter(usage.keyOf("alice", "127.0.0.1"))!.passed(true, 10);
   * assert.throws(() => usage.checkQuota(usage.keyOf("alice", "127.0.0.1")), /quota of 10 bytes a day/);
   * ```
   */
  checkQuota(key: string | undefined, now: Date = new Date()): void {
    if (key === undefined) return;
    const limit = this.#limitOf(key);
    if (limit?.quotaBytes === undefined) return;
    const period = limit.quotaPeriod ?? "month";
    if (this.ledger.used(key, periodOf(period, now)) >= limit.quotaBytes) {
      this.onRefusal?.(key);
      throw new SocksError("quota-exceeded", quotaText(key, limit.quotaBytes, period));
    }
  }

  /** The relay meter of a tunnel of `key`; undefined when the key has no limit. */
  meter(key: string | undefined): RelayMeter | undefined {
    if (key === undefined) return undefined;
    const limit = this.#limitOf(key);
    if (limit === undefined || (limit.bytesPerSecond === undefined && limit.quotaBytes === undefined)) return undefined;
    let limiters = this.#limiters.get(key);
    if (limiters === undefined && limit.bytesPerSecond !== undefined) {
      const rate = limit.bytesPerSecond;
      this.#limiters.set(key, limiters = { up: new RateLimiter(rate), down: new RateLimiter(rate) });
    }
    return new TunnelMeter(this.ledger, key, limit, limiters);
  }
}

/** The quota named for people: "alice's quota of 1048576 bytes a day is spent". */
function quotaText(key: string, bytes: number, period: QuotaPeriod): string {
  const who = key.startsWith("user:") ? `user ${key.slice(5)}` : `client ${key.slice(7)}`;
  return `${who}: quota of ${bytes} bytes a ${period} is spent`;
}

/** One limited tunnel's view of its key's limiters and count. */
class TunnelMeter implements RelayMeter {
  readonly #ledger: QuotaLedger;
  readonly #key: string;
  readonly #limit: UsageLimit;
  readonly #limiters: Limiters | undefined;

  constructor(ledger: QuotaLedger, key: string, limit: UsageLimit, limiters: Limiters | undefined) {
    this.#ledger = ledger;
    this.#key = key;
    this.#limit = limit;
    this.#limiters = limiters;
  }

  allow(_aToB: boolean, bytes: number): number {
    const { quotaBytes } = this.#limit;
    if (quotaBytes === undefined) return bytes;
    const used = this.#ledger.used(this.#key, periodOf(this.#limit.quotaPeriod ?? "month", new Date()));
    return Math.max(0, Math.min(bytes, quotaBytes - used));
  }

  passed(aToB: boolean, bytes: number): number {
    if (this.#limit.quotaBytes !== undefined) {
      this.#ledger.add(this.#key, periodOf(this.#limit.quotaPeriod ?? "month", new Date()), bytes);
    }
    const limiter = aToB ? this.#limiters?.up : this.#limiters?.down;
    return limiter === undefined ? 0 : limiter.take(bytes);
  }

  get quotaMessage(): string {
    return quotaText(this.#key, this.#limit.quotaBytes ?? 0, this.#limit.quotaPeriod ?? "month");
  }
}
