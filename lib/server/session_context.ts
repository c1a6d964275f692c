/**
 * What a server command works with: the session's state as the commands see it. Apart from socks_session.ts so that
 * the commands, which it dispatches to, do not import it back.
 *
 * @module
 */
import type { Connection } from "../net/network.ts";
import type { RelayEnd } from "../relay.ts";
import type { ServerConfig } from "./config.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import type { ClientRequest } from "./handshake.ts";
import type { AdmissionControl } from "./limits.ts";
import type { Replier } from "./replier.ts";

/** What a command works with. */
export interface Session {
  readonly config: ServerConfig;
  readonly connection: Connection;
  readonly request: ClientRequest;
  readonly reply: Replier;
  readonly record: ConnectionRecord;
  /** Aborted when the server stops for good. */
  readonly signal: AbortSignal;
  /** The server's admission limits (UDP associations are admitted per command). */
  readonly admission: AdmissionControl;
  /** The client's side for a relay: the bytes read past the request, then the streams (unlocked). */
  clientEnd(): RelayEnd;
}
