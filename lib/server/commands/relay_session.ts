/**
 * The last step of CONNECT and BIND: the final success reply naming `bound`, then the relay between the client
 * and the other connection, recording the bytes.
 *
 * @module
 */
import type { Connection } from "../../net.ts";
import type { HostPort } from "../../wire/address.ts";
import { relay } from "../../relay.ts";
import type { Session } from "../session_context.ts";

/** Sends the final success reply (closing `other` if that fails), then relays; see {@link relaySession}. */
export async function replyAndRelay(session: Session, other: Connection, bound: HostPort): Promise<void> {
  try {
    await session.reply.success(bound);
  } catch (error) {
    other.close();
    throw error;
  }
  await relaySession(session, other);
}

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
