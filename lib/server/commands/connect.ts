/**
 * CONNECT (SOCKS4, 4a and 5): resolve on the server (or pass the name to the upstream chain), connect, and reply only
 * once the outbound connection exists, with its real local address and port.
 *
 * @module
 */
import { SocksError } from "../../wire/socks_error.ts";
import { endpointToHostPort } from "../../net/endpoint.ts";
import { openRoute } from "../route.ts";
import type { Session } from "../session_context.ts";
import { replyAndRelay } from "./relay_session.ts";

/** Serves CONNECT. */
export async function connectCommand(session: Session): Promise<void> {
  if (session.request.destination.port === 0) {
    // No TCP service can listen on port 0 (IANA's registry reserves it), so no attempt is made: a refusal by
    // the server's own rule, REP 0x02, the same answer in every runtime (the kernels' errors for it differ).
    throw new SocksError("not-allowed", "CONNECT to port 0: no service can listen there");
  }
  // Directly or through the upstream chain (route.ts), after the rules.
  const outbound = await openRoute(session);
  // Returned, not awaited: this function's frame need not live as long as the tunnel.
  return replyAndRelay(session, outbound, endpointToHostPort(outbound.localAddress));
}
