/**
 * Connecting to one of several addresses a name resolved to, within one deadline: used by the server's CONNECT
 * and by the client's first hop.
 *
 * @module
 */
import { startDeadline } from "../time/deadline.ts";
import { SLOTTED_FROM_MS, slottedDeadline } from "../time/timer_slots.ts";
import type { Connection, Network } from "./network.ts";
import { SocksError } from "../wire/socks_error.ts";

/**
 * Connects to the first of `addresses` that answers, within one overall deadline. `shareDeadline`: `signal` is a
 * long-lived one that many connects share (a server's stop signal), so the deadline may be a slotted one.
 */
export async function connectAny(
  network: Network,
  addresses: readonly string[],
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
  shareDeadline = false,
): Promise<Connection> {
  // A server's long connect timeout (2 minutes by default) shares one deadline signal per slot with its other
  // connects (`signal` is the server's own, the same for all); a short one gets its own exact timer.
  const { signal: deadline, clear } = shareDeadline && timeoutMs >= SLOTTED_FROM_MS
    ? slottedDeadline(timeoutMs, signal)
    : startDeadline(timeoutMs, signal);
  // Made only when needed: an error captures a stack trace, a real cost on every tunnel.
  let lastError: unknown;
  try {
    for (const hostname of addresses) {
      try {
        return await network.connect({ hostname, port, signal: deadline });
      } catch (error) {
        lastError = error;
        if (deadline.aborted) break;
      }
    }
  } finally {
    clear();
  }
  if (deadline.aborted && !signal.aborted) {
    throw new SocksError("timeout", `no connection within ${timeoutMs} ms`, { cause: lastError });
  }
  throw lastError ?? new SocksError("host-unreachable", "no address to connect to");
}
