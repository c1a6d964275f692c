/**
 * The last step of CONNECT and BIND: the final success reply naming `bound`, then the relay between the client
 * and the other connection, recording the bytes.
 *
 * @module
 */
import type { Connection } from "../../net/network.ts";
import type { HostPort } from "../../wire/address.ts";
import { relay, type RelayResult } from "../../relay.ts";
import type { Session } from "../session_context.ts";

/** Sends the final success reply (closing `other` if that fails), then relays; see {@link relaySession}. */
export async function replyAndRelay(session: Session, other: Connection, bound: HostPort): Promise<void> {
  try {
    await session.reply.success(bound);
  } catch (error) {
    other.close();
    throw error;
  }
  // Returned, not awaited: this function's frame need not live as long as the tunnel.
  return relaySession(session, other);
}

/** Relays until both directions end; records bytes each way and any abnormal end. */
export function relaySession(session: Session, other: Connection): Promise<void> {
  // A callback, not an async function: an idle tunnel then holds no suspended frame here for its whole life.
  const recordResult = (result: RelayResult): void => {
    session.record.bytesUp = result.aToB;
    session.record.bytesDown = result.bToA;
    if (result.outcome !== "done") {
      session.record.outcome = result.outcome;
      if (result.error) session.record.error = result.error.message;
    }
  };
  try {
    const { idleTimeoutMs, usage } = session.config;
    const meter = usage.empty
      ? undefined
      : usage.meter(usage.keyOf(session.request.user, session.connection.remoteAddress.hostname));
    return relay(session.clientEnd(), other, { idleTimeoutMs, signal: session.signal, meter }).then(recordResult);
  } catch (error) {
    return Promise.reject(error);
  }
}
