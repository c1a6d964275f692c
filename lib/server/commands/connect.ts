/**
 * CONNECT (SOCKS4, 4a and 5): resolve on the server, connect, and reply only once the outbound connection exists,
 * with its real local address and port.
 *
 * @module
 */
import { connectAny } from "../../connect_any.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { resolveAllowed } from "../destination.ts";
import { endpointToHostPort } from "../../endpoint.ts";
import type { Session } from "../session.ts";
import { replyAndRelay } from "./relay_session.ts";

/** Serves CONNECT. */
export async function connectCommand(session: Session): Promise<void> {
  const { config, request } = session;
  if (request.destination.port === 0) {
    // No TCP service can listen on port 0 (IANA's registry reserves it), so no attempt is made: a refusal by
    // the server's own rule, REP 0x02, the same answer in every runtime (the kernels' errors for it differ).
    throw new SocksError("not-allowed", "CONNECT to port 0: no service can listen there");
  }
  const addresses = await resolveAllowed(session);
  const outbound = await connectAny(
    config.network,
    addresses,
    request.destination.port,
    config.connectTimeoutMs,
    session.signal,
  );
  await replyAndRelay(session, outbound, endpointToHostPort(outbound.localAddress));
}
