/**
 * Server options as a user gives them, and the complete configuration the session code works with.
 *
 * @module
 */
import type { Cidr } from "../cidr.ts";
import type { Network } from "../net.ts";
import type { Authenticator, UserTable } from "./auth.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import type { LimitReport, Limits } from "./limits.ts";
import type { Rule } from "./rules.ts";
import type { IdentSettings } from "./ident_check.ts";

/** Default timeouts, in milliseconds. */
export const DEFAULT_TIMEOUTS = {
  /** From accept to a complete request (greeting and authentication included). */
  handshakeMs: 30_000,
  /** CONNECT's outbound connection and BIND's incoming one: 2 minutes, the SOCKS4 text's example. */
  connectMs: 120_000,
  /** A relay with no traffic either way; 0 means none. */
  idleMs: 0,
  /** A UDP association with no datagram either way. */
  udpIdleMs: 120_000,
} as const;

/** The address a server listens on when told nothing: loopback only. */
export const DEFAULT_LISTEN: { readonly hostname: string; readonly port: number } = {
  hostname: "127.0.0.1",
  port: 1080,
};

/**
 * Destinations a proxy exposed on a network must not reach unless a rule allows them by range: its own loopback
 * (127.0.0.0/8, ::1, and 0.0.0.0 and :: which reach it too), and link-local ranges, where cloud metadata services
 * such as 169.254.169.254 answer.
 */
export const PROTECTED_WHEN_EXPOSED: readonly string[] = [
  "127.0.0.0/8",
  "0.0.0.0/8",
  "169.254.0.0/16",
  "::1/128",
  "::/128",
  "fe80::/10",
];

/** What a server needs to run, fully decided: {@link ServerOptions} with every default filled in. */
export interface ServerConfig {
  readonly network: Network;
  /** SOCKS5 methods in the server's order of preference. */
  readonly authenticators: readonly Authenticator[];
  /** The users a SOCKS4 USERID may name when {@link ServerConfig.socks4} is "userid". */
  readonly socks4Users: UserTable | undefined;
  /**
   * How SOCKS4 (which has no password) is treated: "open" when SOCKS5 allows anonymous clients too; otherwise
   * "refused", or "userid" when the operator lets in a USERID that names a user, password unchecked.
   */
  readonly socks4: "open" | "userid" | "refused";
  readonly rules: readonly Rule[];
  /** CIDR ranges CONNECT and UDP may reach only when a rule allows them by range. */
  readonly protectedDestinations: readonly string[];
  /** {@link ServerConfig.protectedDestinations}, parsed once (they are checked on every CONNECT). */
  readonly protectedRanges: readonly Cidr[];
  /** Answer Tor's RESOLVE and RESOLVE_PTR. */
  readonly resolveExtension: boolean;
  readonly handshakeTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly udpIdleTimeoutMs: number;
  /** Reassemble fragmented UDP datagrams (RFC 1928 section 7) instead of dropping them. */
  readonly udpReassembly: boolean;
  /** The IDENT check of SOCKS4 requests (RFC 1413), or undefined when off. */
  readonly ident: IdentSettings | undefined;
  /** The reassembly timer (at least 5 s, RFC 1928). */
  readonly udpReassemblyTimeoutMs: number;
  /** The address BIND listens on and UDP ASSOCIATE binds; default: the address the client connected to. */
  readonly externalAddress: string | undefined;
  /** Called once per connection when it ends. */
  readonly onConnectionEnd: (record: ConnectionRecord) => void;
  readonly limits: Limits;
  /** Called at most once per interval with what the limits refused in it. */
  readonly onLimit: (report: LimitReport) => void;
}

/** Options of a server; everything is optional and safe by default. */
export interface ServerOptions {
  /** Where to listen; default 127.0.0.1:1080. */
  readonly listen?: readonly { readonly hostname: string; readonly port: number }[];
  /** The runtime adapter; the package root's `startServer` defaults to the running runtime's, lib/server's needs one. */
  readonly network?: Network;
  /** Users for RFC 1929 (SOCKS5) and USERID checks (SOCKS4). With users, anonymous access is off. */
  readonly users?: UserTable;
  /**
   * With users, let SOCKS4 clients in when their USERID names a user. SOCKS4 carries no password, so anyone who
   * knows a user's name gets that user's access; off by default, when a server with users refuses SOCKS4.
   */
  readonly allowSocks4UserId?: boolean;
  /** Replace the SOCKS5 methods altogether (e.g. add a 0x80-0xFE method of your own). */
  readonly authenticators?: readonly Authenticator[];
  /** Access rules, first match decides; none: everything allowed (see {@link Rule}). */
  readonly rules?: readonly Rule[];
  /**
   * Ranges CONNECT and UDP may reach only through a rule that names them by range. Default: none when every listen
   * address is loopback, {@link PROTECTED_WHEN_EXPOSED} otherwise.
   */
  readonly protectedDestinations?: readonly string[];
  /** Listen on a non-loopback address without authentication. Off: such a server refuses to start. */
  readonly allowOpen?: boolean;
  /** Answer Tor's RESOLVE (0xF0) and RESOLVE_PTR (0xF1) commands. Off by default. */
  readonly resolveExtension?: boolean;
  /** Time from accept to a complete request, greeting and authentication included (default 30 s). */
  readonly handshakeTimeoutMs?: number;
  /** Time for CONNECT's outbound connection and BIND's incoming one (default 2 min). */
  readonly connectTimeoutMs?: number;
  /** Close a tunnel with no traffic either way for this long; 0 (the default) never does. */
  readonly idleTimeoutMs?: number;
  /** End a UDP association with no datagram either way for this long (default 2 min). */
  readonly udpIdleTimeoutMs?: number;
  /**
   * Reassemble fragmented UDP datagrams (RFC 1928 section 7: FRAG 1-127, 0x80 on the last) and send each whole;
   * off by default, when fragments are dropped. One sequence per association, at most one datagram's size.
   */
  readonly udpReassembly?: boolean;
  /**
   * Check SOCKS4 USERIDs with the client host's identd (RFC 1413), as the SOCKS4 text describes: CD 92 when it
   * cannot be reached in time, 93 when it reports another user (or an error). Off by default; `true` asks port 113
   * with a 10 s timeout.
   */
  readonly ident?: boolean | Partial<IdentSettings>;
  /** The reassembly timer: an unfinished sequence is abandoned this long after its first fragment (>= 5000, the default). */
  readonly udpReassemblyTimeoutMs?: number;
  /** The address BIND listens on and UDP ASSOCIATE binds; default: the one the client reached. */
  readonly externalAddress?: string;
  /** Called once per connection when it ends, with its record (for a log; see {@link formatRecord}). */
  readonly onConnectionEnd?: (record: ConnectionRecord) => void;
  /** Admission limits; each one not given keeps its default ({@link DEFAULT_LIMITS}). */
  readonly limits?: Partial<Limits>;
  /** Called at most once per 10 s with the refusals of that interval (a flood must not flood the log). */
  readonly onLimit?: (report: LimitReport) => void;
}
