/**
 * CONNECT (SOCKS4, 4a and 5): resolve on the server, connect, and reply only once the outbound connection exists,
 * with its real local address and port.
 *
 * @module
 */
import type { Connection, Network } from "../../net.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { resolveAllowed } from "../destination.ts";
import { endpointToHostPort } from "../endpoint.ts";
import type { Session } from "../session.ts";
import { relaySession } from "./relay_session.ts";

/** Connects to the first of `addresses` that answers, within one overall deadline. */
export async function connectAny(
  network: Network,
  addresses: readonly string[],
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Connection> {
  const deadline = AbortSignal.any([AbortSignal.timeout(timeoutMs), signal]);
  let lastError: unknown = new SocksError("host-unreachable", "no address to connect to");
  for (const hostname of addresses) {
    try {
      return await network.connect({ hostname, port, signal: deadline });
    } catch (error) {
      lastError = error;
      if (deadline.aborted) break;
    }
  }
  if (deadline.aborted && !signal.aborted) {
    throw new SocksError("timeout", `no connection within ${timeoutMs} ms`, { cause: lastError });
  }
  throw lastError;
}

/** Serves CONNECT. */
export async function connectCommand(session: Session): Promise<void> {
  const { config, request } = session;
  const addresses = await resolveAllowed(session);
  const outbound = await connectAny(
    config.network,
    addresses,
    request.destination.port,
    config.connectTimeoutMs,
    session.signal,
  );
  try {
    await session.reply.success(endpointToHostPort(outbound.localAddress));
  } catch (error) {
    outbound.close();
    throw error;
  }
  await relaySession(session, outbound);
}
