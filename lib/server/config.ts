/**
 * Server options as a user gives them, and the complete configuration the session code works with.
 *
 * @module
 */
import type { Network } from "../net.ts";
import type { Authenticator, UserTable } from "./auth.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import type { Rule } from "./rules.ts";

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

/** What a server needs to run, fully decided: {@link ServerOptions} with every default filled in. */
export interface ServerConfig {
  readonly network: Network;
  /** SOCKS5 methods in the server's order of preference. */
  readonly authenticators: readonly Authenticator[];
  /** When set, a SOCKS4 USERID must name one of these users. */
  readonly socks4Users: UserTable | undefined;
  readonly rules: readonly Rule[];
  /** Answer Tor's RESOLVE and RESOLVE_PTR. */
  readonly resolveExtension: boolean;
  readonly handshakeTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly udpIdleTimeoutMs: number;
  /** The address BIND listens on and UDP ASSOCIATE binds; default: the address the client connected to. */
  readonly externalAddress: string | undefined;
  /** Called once per connection when it ends. */
  readonly onConnectionEnd: (record: ConnectionRecord) => void;
}

/** Options of a server; everything is optional and safe by default. */
export interface ServerOptions {
  /** Where to listen; default 127.0.0.1:1080. */
  readonly listen?: readonly { readonly hostname: string; readonly port: number }[];
  /** The runtime adapter; default: the running runtime's. */
  readonly network?: Network;
  /** Users for RFC 1929 (SOCKS5) and USERID checks (SOCKS4). With users, anonymous access is off. */
  readonly users?: UserTable;
  /** Replace the SOCKS5 methods altogether (e.g. add a 0x80-0xFE method of your own). */
  readonly authenticators?: readonly Authenticator[];
  readonly rules?: readonly Rule[];
  /** Listen on a non-loopback address without authentication. Off: such a server refuses to start. */
  readonly allowOpen?: boolean;
  readonly resolveExtension?: boolean;
  readonly handshakeTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly udpIdleTimeoutMs?: number;
  readonly externalAddress?: string;
  readonly onConnectionEnd?: (record: ConnectionRecord) => void;
}
