/**
 * Connecting to one of several addresses a name resolved to, within one deadline, racing them as Happy Eyeballs
 * version 2 (RFC 8305) says: used by the server's direct route, by the client's first hop, and so by the fetch
 * bridge (whose outbound connections are client connections).
 *
 * @module
 */
import { startDeadline } from "../time/deadline.ts";
import { SLOTTED_FROM_MS, slottedDeadline } from "../time/timer_slots.ts";
import type { Connection, Network } from "./network.ts";
import { SocksError } from "../wire/socks_error.ts";
import { toSocksError } from "./net_error.ts";

/**
 * RFC 8305 section 8's values. The connection attempt delay is the time one attempt has before the next starts
 * (section 5: 250 ms recommended; never below 10 ms, and the RFC advises at most 2 s).
 */
export const HAPPY_EYEBALLS = {
  /** Section 5 and 8: the recommended Connection Attempt Delay. */
  attemptDelayMs: 250,
  /** Section 5: "MUST NOT be less than 10 milliseconds", to avoid flooding the network with attempts. */
  minAttemptDelayMs: 10,
  /** Section 8: the Maximum Connection Attempt Delay. */
  maxAttemptDelayMs: 2_000,
} as const;

/**
 * Why a Connection Attempt Delay is out of RFC 8305's bounds ({@link HAPPY_EYEBALLS}), or undefined when fine.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkAttemptDelay } from "./connect_any.ts";
 * assert.equal(checkAttemptDelay(250), undefined);
 * assert.match(checkAttemptDelay(5) ?? "", /from 10 to 2000/);
 * ```
 */
export function checkAttemptDelay(ms: number): string | undefined {
  const { minAttemptDelayMs: min, maxAttemptDelayMs: max } = HAPPY_EYEBALLS;
  if (Number.isFinite(ms) && ms >= min && ms <= max) return undefined;
  return `must be from ${min} to ${max} ms (RFC 8305 section 5), not ${ms}`;
}

/** How {@link connectAny} races the addresses. */
export interface ConnectAnyOptions {
  /**
   * RFC 8305's Connection Attempt Delay, in ms: the next address is tried when the previous attempt has been
   * pending this long, or at once when it failed. Default {@link HAPPY_EYEBALLS}.attemptDelayMs (250).
   */
  readonly attemptDelayMs?: number;
  /**
   * The source addresses to connect from, one per family (the server's outbound addresses). When given, an
   * address of a family without one is not tried: connections leave only from the addresses the operator named.
   */
  readonly localAddress?: LocalAddresses;
}

/** A source address per family, each an IP literal of its family. */
export interface LocalAddresses {
  /** The IPv4 source address. */
  readonly ipv4?: string;
  /** The IPv6 source address. */
  readonly ipv6?: string;
}

/** The source address for `hostname` (an IP literal) under `local`: the one of its family, if any. */
export function localAddressFor(hostname: string, local: LocalAddresses | undefined): string | undefined {
  if (local === undefined) return undefined;
  return hostname.includes(":") ? local.ipv6 : local.ipv4;
}

/**
 * Orders addresses as RFC 8305 section 4 says: the family of the first (the resolver's preference, RFC 6724)
 * first, then alternating between the families, each family keeping its own order ("First Address Family Count"
 * 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interleaveFamilies } from "./connect_any.ts";
 * assert.deepEqual(
 *   interleaveFamilies(["::1", "fe80::1", "10.0.0.1", "10.0.0.2", "10.0.0.3"]),
 *   ["::1", "10.0.0.1", "fe80::1", "10.0.0.2", "10.0.0.3"],
 * );
 * ```
 */
export function interleaveFamilies(addresses: readonly string[]): string[] {
  if (addresses.length < 2) return [...addresses];
  const firstIsV6 = addresses[0].includes(":");
  const preferred = addresses.filter((a) => a.includes(":") === firstIsV6);
  const other = addresses.filter((a) => a.includes(":") !== firstIsV6);
  const ordered: string[] = [];
  for (let i = 0; i < Math.max(preferred.length, other.length); i++) {
    if (i < preferred.length) ordered.push(preferred[i]);
    if (i < other.length) ordered.push(other[i]);
  }
  return ordered;
}

/**
 * Connects to the first of `addresses` that answers, within one overall deadline. Several addresses race as RFC
 * 8305 says: interleaved by family ({@link interleaveFamilies}), a new attempt started every `attemptDelayMs` or as
 * soon as the previous one failed, the first to connect wins and the others are aborted (and closed, should they
 * connect anyway). The deadline bounds the whole race. `shareDeadline`: `signal` is a long-lived one that many
 * connects share (a server's stop signal), so the deadline may be a slotted one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectAny } from "./connect_any.ts";
 * import { MemoryNetwork } from "./memory_network.ts";
 * const network = new MemoryNetwork();
 * const listener = await network.listen({ hostname: "127.0.0.1", port: 80 }, (c) => c.close());
 * // ::1 refuses (nothing listens there), so 127.0.0.1 is tried at once, without waiting for the delay.
 * const connection = await connectAny(network, ["::1", "127.0.0.1"], 80, 5_000, new AbortController().signal);
 * assert.equal(connection.remoteAddress.hostname, "127.0.0.1");
 * connection.close();
 * await listener.close();
 * ```
 */
export async function connectAny(
  network: Network,
  addresses: readonly string[],
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
  shareDeadline = false,
  options?: ConnectAnyOptions,
): Promise<Connection> {
  const delayProblem = options?.attemptDelayMs === undefined ? undefined : checkAttemptDelay(options.attemptDelayMs);
  if (delayProblem !== undefined) throw new SocksError("bad-field", `connectAttemptDelayMs ${delayProblem}`);
  // A server's long connect timeout (2 minutes by default) shares one deadline signal per slot with its other
  // connects (`signal` is the server's own, the same for all); a short one gets its own exact timer.
  const { signal: deadline, clear } = shareDeadline && timeoutMs >= SLOTTED_FROM_MS
    ? slottedDeadline(timeoutMs, signal)
    : startDeadline(timeoutMs, signal);
  const local = options?.localAddress;
  if (local !== undefined) {
    const all = addresses;
    addresses = all.filter((a) => localAddressFor(a, local) !== undefined);
    if (addresses.length === 0 && all.length > 0) {
      clear();
      // Like Dante with no `external` address of that family: there is no way out for it from here (REP 0x03).
      throw new SocksError(
        "network-unreachable",
        `no outbound address of the family of ${all.join(", ")} (outbound addresses: ${
          [local.ipv4, local.ipv6].filter((a) => a !== undefined).join(", ")
        })`,
      );
    }
  }
  // Made only when needed: an error captures a stack trace, a real cost on every tunnel.
  let lastError: unknown;
  try {
    if (addresses.length === 1) {
      // Nothing to race: the common case costs no more than one connect.
      const [hostname] = addresses;
      return await network.connect({
        hostname,
        port,
        signal: deadline,
        localAddress: localAddressFor(hostname, local),
      });
    }
    if (addresses.length > 1) {
      return await race(network, interleaveFamilies(addresses), port, deadline, options);
    }
  } catch (error) {
    lastError = error;
  } finally {
    clear();
  }
  if (deadline.aborted && !signal.aborted) {
    throw new SocksError("timeout", `no connection within ${timeoutMs} ms`, { cause: lastError });
  }
  throw lastError ?? new SocksError("host-unreachable", "no address to connect to");
}

/**
 * The race itself (RFC 8305 section 5). Settles once: with the first connection, or with the last error once every
 * attempt failed, or with the deadline's reason. Every attempt has its own abort controller, linked to the deadline
 * through one listener, so that the losers can be aborted on their own.
 */
function race(
  network: Network,
  ordered: readonly string[],
  port: number,
  deadline: AbortSignal,
  options: ConnectAnyOptions | undefined,
): Promise<Connection> {
  const delayMs = options?.attemptDelayMs ?? HAPPY_EYEBALLS.attemptDelayMs;
  return new Promise<Connection>((resolve, reject) => {
    const attempts: AbortController[] = [];
    let next = 0;
    let pending = 0;
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastError: unknown;
    const settle = (): void => {
      settled = true;
      clearTimeout(timer);
      deadline.removeEventListener("abort", onDeadline);
      // The losers still connecting are given up; each closes its socket (the adapters' connect does on abort).
      for (const attempt of attempts) attempt.abort(new SocksError("aborted", "another address connected first"));
    };
    const onDeadline = (): void => {
      if (settled) return;
      settle();
      reject(toSocksError(deadline.reason, "connect"));
    };
    const start = (): void => {
      clearTimeout(timer);
      timer = undefined;
      if (settled || next >= ordered.length) return;
      const hostname = ordered[next++];
      const attempt = new AbortController();
      attempts.push(attempt);
      pending++;
      const localAddress = localAddressFor(hostname, options?.localAddress);
      network.connect({ hostname, port, signal: attempt.signal, raced: true, localAddress })
        .then((connection) => {
          pending--;
          // A loser that connected before its abort landed: closed, never handed out.
          if (settled) return connection.close();
          settle();
          resolve(connection);
        }, (error) => {
          pending--;
          if (settled) return;
          lastError = error;
          // Section 5: a failed attempt starts the next one at once, without waiting for the delay.
          if (next < ordered.length) return start();
          if (pending === 0) {
            settle();
            reject(lastError);
          }
        });
      if (next < ordered.length) timer = setTimeout(start, delayMs);
    };
    if (deadline.aborted) return reject(toSocksError(deadline.reason, "connect"));
    deadline.addEventListener("abort", onDeadline, { once: true });
    start();
  });
}
