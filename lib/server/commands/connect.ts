/**
 * CONNECT (SOCKS4, 4a and 5): resolve on the server, connect, and reply only once the outbound connection exists,
 * with its real local address and port.
 *
 * @module
 */
import { connectAny } from "../../connect_any.ts";
import { resolveAllowed } from "../destination.ts";
import { endpointToHostPort } from "../../endpoint.ts";
import type { Session } from "../session_context.ts";
import { relaySession } from "./relay_session.ts";

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
