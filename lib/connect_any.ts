/**
 * Connecting to one of several addresses a name resolved to, within one deadline: used by the server's CONNECT
 * and by the client's first hop.
 *
 * @module
 */
import { startDeadline } from "./deadline.ts";
import type { Connection, Network } from "./net.ts";
import { SocksError } from "./wire/socks_error.ts";

/** Connects to the first of `addresses` that answers, within one overall deadline. */
export async function connectAny(
  network: Network,
  addresses: readonly string[],
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Connection> {
  const { signal: deadline, clear } = startDeadline(timeoutMs, signal);
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
