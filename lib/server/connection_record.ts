/**
 * The one log line every connection leaves when it ends: who, which version and user, which command to where,
 * how it ended, bytes each way, how long. Passwords are never part of it.
 *
 * @module
 */
import type { CommandName } from "./rules.ts";

/** What is known about a connection when it ends. */
export interface ConnectionRecord {
  /** The client, `ip:port` (IPv6 in brackets). */
  client: string;
  /** The SOCKS version the client spoke, once its first byte was read. */
  version?: 4 | 5;
  /** The authenticated user (SOCKS5) or the USERID (SOCKS4), if any. */
  user?: string;
  /** The user the client host's identd reported (SOCKS4 with the IDENT check on). */
  ident?: string;
  /** The command requested. */
  command?: CommandName;
  /** HTTP requests: the method (the log line then says `version=http`, and `reply` is the status). */
  method?: string;
  /** The destination as the client asked for it: a name or an address, with the port. */
  destination?: string;
  /** "ok" for a served request; otherwise what went wrong, short ("refused", "handshake-timeout" ...). */
  outcome: string;
  /** The reply code sent, if any (SOCKS4 CD or SOCKS5 REP of the last reply). */
  reply?: number;
  /** Bytes from the client to the destination. */
  bytesUp: number;
  /** Bytes from the destination to the client. */
  bytesDown: number;
  /** From accept to close, in ms. */
  durationMs: number;
  /** Details of a failure. */
  error?: string;
}

/** How log lines are written. */
export type LogFormat = "text" | "json";

/**
 * Formats a record as one line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRecord } from "./connection_record.ts";
 * const line = formatRecord({ client: "127.0.0.1:5000", outcome: "ok", bytesUp: 1, bytesDown: 2, durationMs: 3 }, "text");
 * assert.match(line, /client=127\.0\.0\.1:5000 .*outcome=ok/);
 * ```
 */
export function formatRecord(record: ConnectionRecord, format: LogFormat): string {
  if (format === "json") return JSON.stringify(record);
  const fields: [string, unknown][] = [
    ["client", record.client],
    [
      "version",
      record.method !== undefined ? "http" : record.version === undefined ? undefined : `socks${record.version}`,
    ],
    ["method", record.method],
    ["user", record.user],
    ["ident", record.ident],
    ["command", record.command],
    ["destination", record.destination],
    ["outcome", record.outcome],
    ["reply", record.reply],
    ["up", record.bytesUp],
    ["down", record.bytesDown],
    ["ms", record.durationMs],
    ["error", record.error],
  ];
  return fields
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" && /[\s"=]/.test(v) ? JSON.stringify(v) : v}`)
    .join(" ");
}
