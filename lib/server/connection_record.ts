/**
 * The one log line every connection leaves when it ends: when, who, which version and user, which command to
 * where (and how the destination arrived: as a name or as an address), how it ended, bytes each way, how long.
 * Passwords are never part of it. The JSON form is an interface (people parse it): its fields are documented in
 * docs/log_record.md, and new ones are only ever added.
 *
 * @module
 */
import type { CommandName } from "./rules.ts";

/** The SOCKS version of a request as a log names it: SOCKS4 with a name is 4a. */
export type RecordVersion = "4" | "4a" | "5";

/**
 * How the destination arrived: as a name for the proxy to resolve, as an address the client resolved, or as an
 * address the DNS port mapped (`mapped-ipv4`, `mapped-ipv6`), which the proxy turned back into the name.
 */
export type RecordAddressType = "domain" | "ipv4" | "ipv6" | "mapped-ipv4" | "mapped-ipv6";

/** What is known about a connection when it ends. */
export interface ConnectionRecord {
  /** When the record was made (the connection's end), RFC 3339 UTC with milliseconds. Filled in if missing. */
  time?: string;
  /** The client, `ip:port` (IPv6 in brackets). */
  client: string;
  /** "4", "4a" (SOCKS4 carrying a name) or "5"; "4" until a SOCKS4 request is complete. */
  version?: RecordVersion;
  /** The authenticated user: an RFC 1929 username that was checked, or a SOCKS4 USERID checked as a user. */
  user?: string;
  /** A username taken as a session label, not checked (`acceptAnyCredentials`: stream isolation). */
  label?: string;
  /** A SOCKS4 USERID as the client sent it, when it was not checked as a user (browsers send login names). */
  userId?: string;
  /** The user the client host's identd reported (SOCKS4 with the IDENT check on, RFC 1413). */
  ident?: string;
  /** The command requested. */
  command?: CommandName;
  /** HTTP requests: the method (the log then says `version=http`, and `reply` is the status). */
  method?: string;
  /** The destination as the client asked for it, `host:port`; an IPv6 literal in brackets even when sent as a name. */
  destination?: string;
  /** The destination's host alone, as sent (no brackets). */
  destinationHost?: string;
  /** The destination's port alone. */
  destinationPort?: number;
  /** How the destination arrived. */
  addressType?: RecordAddressType;
  /**
   * When the destination's name had several addresses: the one the direct route connected to, `ip:port` (the
   * winner of the Happy Eyeballs race, RFC 8305).
   */
  connected?: string;
  /** With safeSocks or testSocks: "safe", or why not ("unsafe: the client resolved the name itself"). */
  safety?: string;
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
  /** The TLS version the client spoke to the proxy (`"TLSv1.3"`), when it came over TLS (an HTTPS proxy). */
  tls?: string;
  /** Which worker process served it (`tabi serve --workers N`, N > 1), from 0. */
  worker?: number;
}

/** How log lines are written. */
export type LogFormat = "text" | "json";

/** The fields in the order both formats write them: [JSON name, text name]. */
const FIELDS: readonly (readonly [keyof ConnectionRecord, string])[] = [
  ["time", "time"],
  ["client", "client"],
  ["tls", "tls"],
  ["version", "version"],
  ["method", "method"],
  ["user", "user"],
  ["label", "label"],
  ["userId", "userid"],
  ["ident", "ident"],
  ["command", "command"],
  ["destination", "destination"],
  ["addressType", "type"],
  ["connected", "connected"],
  ["safety", "safety"],
  ["outcome", "outcome"],
  ["reply", "reply"],
  ["bytesUp", "up"],
  ["bytesDown", "down"],
  ["durationMs", "ms"],
  ["error", "error"],
  ["worker", "worker"],
];

/** True when a text value must be quoted to read back as one value: empty, or holding space, quote, `=`, `\\` or a control. */
function needsQuotes(value: string): boolean {
  return value === "" || /[\s"=\\]/.test(value) || [...value].some((c) => c.charCodeAt(0) < 0x20 || c === "\u007f");
}

/**
 * Formats a record as one line: `key=value` pairs (values with spaces, quotes or `=` JSON-quoted), or one JSON
 * object. A record without a time gets the current one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRecord } from "./connection_record.ts";
 * const record = { client: "127.0.0.1:5000", outcome: "ok", bytesUp: 1, bytesDown: 2, durationMs: 3 };
 * assert.match(formatRecord(record, "text"), /^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z client=127\.0\.0\.1:5000 .*outcome=ok/);
 * assert.equal(JSON.parse(formatRecord(record, "json")).client, "127.0.0.1:5000");
 * ```
 */
export function formatRecord(record: ConnectionRecord, format: LogFormat): string {
  const full: ConnectionRecord = { ...record, time: record.time ?? new Date().toISOString() };
  if (format === "json") {
    const ordered: Record<string, unknown> = {};
    for (const [key] of FIELDS) {
      ordered[key] = full[key];
      if (key === "destination") {
        ordered.destinationHost = full.destinationHost;
        ordered.destinationPort = full.destinationPort;
      }
    }
    return JSON.stringify(ordered);
  }
  return FIELDS
    // An HTTP request has no SOCKS version; its text line says version=http.
    .filter(([key]) => full[key] !== undefined || (key === "version" && full.method !== undefined))
    .map(([key, name]) => {
      const v = key === "version" ? (full.method !== undefined ? "http" : `socks${full.version}`) : full[key];
      return `${name}=${typeof v === "string" && needsQuotes(v) ? JSON.stringify(v) : v}`;
    })
    .join(" ");
}
