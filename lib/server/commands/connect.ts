/**
 * CONNECT (SOCKS4, 4a and 5): resolve on the server (or pass the name to the upstream chain), connect, and reply only
 * once the outbound connection exists, with its real local address and port.
 *
 * @module
 */
import { endpointToHostPort } from "../../net/endpoint.ts";
import { openRoute } from "../route.ts";
import type { Session } from "../session_context.ts";
import { replyAndRelay } from "./relay_session.ts";

/** Serves CONNECT. */
export async function connectCommand(session: Session): Promise<void> {
  // Directly or through the upstream chain (route.ts), after the rules (port 0 is refused there, for HTTP too).
  const outbound = await openRoute(session);
  // Returned, not awaited: this function's frame need not live as long as the tunnel.
  return replyAndRelay(session, outbound, endpointToHostPort(outbound.localAddress));
}
