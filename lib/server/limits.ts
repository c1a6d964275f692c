/**
 * Admission limits: clients in total and per address, handshakes in progress, UDP associations in total and per
 * client. A client over a limit is closed at once, with no work done for it; refusals are counted and reported at
 * most once per interval, so a flood cannot flood the log too.
 *
 * @module
 */

/** The limits a server enforces. */
export interface Limits {
  /** Connections served at once, all clients together. */
  readonly maxClients: number;
  /** Connections served at once from one client address. */
  readonly maxClientsPerAddress: number;
  /** Connections still in their handshake (no complete request yet). */
  readonly maxHandshakes: number;
  /** UDP associations at once, all clients together. */
  readonly maxUdpAssociations: number;
  /** UDP associations at once from one client address. */
  readonly maxUdpAssociationsPerClient: number;
  /** Datagrams of one association waiting for a name lookup or a send; more are dropped. */
  readonly maxUdpDatagramsInFlight: number;
}

/** Defaults: generous for one machine's file descriptors, small enough that one client cannot take them all. */
export const DEFAULT_LIMITS: Limits = {
  maxClients: 10_000,
  maxClientsPerAddress: 1_000,
  maxHandshakes: 2_000,
  maxUdpAssociations: 1_000,
  maxUdpAssociationsPerClient: 16,
  maxUdpDatagramsInFlight: 64,
};

/** Which limit refused something. */
export type LimitName = keyof Limits;

/** What was refused since the last report, by limit; only limits that refused anything appear. */
export interface LimitReport {
  /** How many connections or requests each limit refused. */
  readonly refused: Readonly<Partial<Record<LimitName, number>>>;
  /** The length of the interval the counts cover, in ms. */
  readonly intervalMs: number;
}

/** How often refusals are reported at most. */
export const LIMIT_REPORT_INTERVAL_MS = 10_000;

/**
 * Keeps the counts behind the limits and the refusals not yet reported.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AdmissionControl, DEFAULT_LIMITS } from "./limits.ts";
 * const reports: unknown[] = [];
 * const admission = new AdmissionControl({ ...DEFAULT_LIMITS, maxClientsPerAddress: 1 }, (r) => reports.push(r));
 * assert.equal(admission.admit("192.0.2.1"), undefined);
 * assert.equal(admission.admit("192.0.2.1"), "maxClientsPerAddress");
 * admission.release("192.0.2.1", false);
 * admission.close();
 * assert.deepEqual(reports, [{ refused: { maxClientsPerAddress: 1 }, intervalMs: 10_000 }]);
 * ```
 */
export class AdmissionControl {
  #limits: Limits;
  readonly #report: (report: LimitReport) => void;
  readonly #intervalMs: number;
  #clients = 0;
  #handshakes = 0;
  readonly #perAddress = new Map<string, number>();
  #udp = 0;
  readonly #udpPerAddress = new Map<string, number>();
  #refused: Partial<Record<LimitName, number>> = {};
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(limits: Limits, report: (report: LimitReport) => void, intervalMs = LIMIT_REPORT_INTERVAL_MS) {
    this.#limits = limits;
    this.#report = report;
    this.#intervalMs = intervalMs;
  }

  /** Admits a new connection from `address`, or names the limit that refuses it (and counts the refusal). */
  admit(address: string): LimitName | undefined {
    const fromAddress = this.#perAddress.get(address) ?? 0;
    const refusal: LimitName | undefined = this.#clients >= this.#limits.maxClients
      ? "maxClients"
      : fromAddress >= this.#limits.maxClientsPerAddress
      ? "maxClientsPerAddress"
      : this.#handshakes >= this.#limits.maxHandshakes
      ? "maxHandshakes"
      : undefined;
    if (refusal) return this.refuse(refusal);
    this.#clients++;
    this.#handshakes++;
    this.#perAddress.set(address, fromAddress + 1);
    return undefined;
  }

  /**
   * Admits a connection whose client is not known yet (a trusted balancer's, before its PROXY header): only the
   * limits that need no address apply now; {@link AdmissionControl.admitAddress} applies the others later.
   */
  admitUnnamed(): LimitName | undefined {
    if (this.#clients >= this.#limits.maxClients) return this.refuse("maxClients");
    if (this.#handshakes >= this.#limits.maxHandshakes) return this.refuse("maxHandshakes");
    this.#clients++;
    this.#handshakes++;
    return undefined;
  }

  /** Names the client of a connection admitted by {@link AdmissionControl.admitUnnamed}, or the limit refusing it. */
  admitAddress(address: string): LimitName | undefined {
    const fromAddress = this.#perAddress.get(address) ?? 0;
    if (fromAddress >= this.#limits.maxClientsPerAddress) return this.refuse("maxClientsPerAddress");
    this.#perAddress.set(address, fromAddress + 1);
    return undefined;
  }

  /** The connection's handshake is over (it sent a complete request). */
  handshakeDone(): void {
    this.#handshakes--;
  }

  /**
   * The connection ended; `handshakeDone` says whether {@link AdmissionControl.handshakeDone} was called, and
   * `address` is the client it was admitted for (undefined: admitted unnamed and never named).
   */
  release(address: string | undefined, handshakeDone: boolean): void {
    this.#clients--;
    if (!handshakeDone) this.#handshakes--;
    if (address !== undefined) decrement(this.#perAddress, address);
  }

  /** Admits a UDP association for `address`, or names the limit that refuses it. */
  admitUdp(address: string): LimitName | undefined {
    const fromAddress = this.#udpPerAddress.get(address) ?? 0;
    if (this.#udp >= this.#limits.maxUdpAssociations) return this.refuse("maxUdpAssociations");
    if (fromAddress >= this.#limits.maxUdpAssociationsPerClient) return this.refuse("maxUdpAssociationsPerClient");
    this.#udp++;
    this.#udpPerAddress.set(address, fromAddress + 1);
    return undefined;
  }

  releaseUdp(address: string): void {
    this.#udp--;
    decrement(this.#udpPerAddress, address);
  }

  /** Counts a refusal by `limit` and returns it; the first of an interval starts the report timer. */
  refuse<L extends LimitName>(limit: L): L {
    this.#refused[limit] = (this.#refused[limit] ?? 0) + 1;
    this.#timer ??= setTimeout(() => this.#flush(), this.#intervalMs);
    return limit;
  }

  /** Connections being served now. */
  get clients(): number {
    return this.#clients;
  }

  /** UDP associations open now. */
  get udpAssociations(): number {
    return this.#udp;
  }

  /** Applies new limits to what is admitted from now on (a reload); what is open stays open. */
  setLimits(limits: Limits): void {
    this.#limits = limits;
  }

  /** Reports what is pending and stops the timer. */
  close(): void {
    this.#flush();
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (Object.keys(this.#refused).length === 0) return;
    const refused = this.#refused;
    this.#refused = {};
    try {
      this.#report({ refused, intervalMs: this.#intervalMs });
    } catch {
      // A reporter that throws must not take the server down.
    }
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 1) - 1;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}
