/**
 * The last step of CONNECT and BIND: relay between the client and the other connection, and record the bytes.
 *
 * @module
 */
import type { Connection } from "../../net.ts";
import { relay } from "../../relay.ts";
import type { Session } from "../session_context.ts";

/** Relays until both directions end; records bytes each way and any abnormal end. */
export async function relaySession(session: Session, other: Connection): Promise<void> {
  const result = await relay(session.clientEnd(), other, {
    idleTimeoutMs: session.config.idleTimeoutMs,
    signal: session.signal,
  });
  session.record.bytesUp = result.aToB;
  session.record.bytesDown = result.bToA;
  if (result.outcome !== "done") {
    session.record.outcome = result.outcome;
    if (result.error) session.record.error = result.error.message;
  }
}
