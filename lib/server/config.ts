/**
 * Server options as a user gives them, and the complete configuration the session code works with.
 *
 * @module
 */
import type { NameMap } from "./name_map.ts";
import { type Cidr, parseCidr } from "../net/cidr.ts";
import { ipAddress, isLoopback } from "../net/endpoint.ts";
import type { Network, StreamTlsClient, TlsServerSettings } from "../net/network.ts";
import { UsageControl, type UsageLimit } from "./usage_control.ts";
import { QUOTA_PERIODS, QuotaLedger } from "./quota_ledger.ts";
import { checkAttemptDelay, HAPPY_EYEBALLS, type LocalAddresses } from "../net/connect_any.ts";
import { requireNetwork } from "../net/require_network.ts";
import { SocksError } from "../wire/socks_error.ts";
import { type Authenticator, noAuth, userPassAuthenticator, type UserTable } from "./auth.ts";
import { anyCredentialsAuthenticator } from "./any_credentials.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import { type IdentSettings, resolveIdent } from "./ident_check.ts";
import { UdpReassemblyQueue } from "../wire/socks5_udp_fragments.ts";
import { DEFAULT_LIMITS, type LimitReport, type Limits } from "./limits.ts";
import { ServerMetrics } from "./metrics.ts";
import { type Rule, validateRules } from "./rules.ts";
import type { ProxyInput } from "../client/options.ts";
import type { ProxySpec } from "../client/proxy_url.ts";
import { proxyList } from "../client/chain.ts";

/** The protocols a server can answer on its port; the first byte of a connection tells them apart. */
export type ServerProtocol = "socks4" | "socks5" | "http";

/** Every protocol: the default. */
export const ALL_PROTOCOLS: readonly ServerProtocol[] = ["socks4", "socks5", "http"];

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
  /**
   * A forwarded HTTP request's destination that has not begun its answer while the request body stood still: 2
   * minutes, between nginx's `proxy_read_timeout` (60 s) and Squid's `read_timeout` (15 min), longer than the
   * usual long poll (30-90 s).
   */
  responseMs: 120_000,
} as const;

// The longest timeout a setting may have (a longer one is refused at start): setTimeout's own limit.
import { MAX_TIMER_MS } from "../time/timer_slots.ts";

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
  /** The runtime adapter the server listens, connects and resolves with. */
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
  /** Access rules, checked at start; the first match decides. */
  readonly rules: readonly Rule[];
  /** CIDR ranges CONNECT and UDP may reach only when a rule allows them by range. */
  readonly protectedDestinations: readonly string[];
  /** {@link ServerConfig.protectedDestinations}, parsed once (they are checked on every CONNECT). */
  readonly protectedRanges: readonly Cidr[];
  /** Answer Tor's RESOLVE and RESOLVE_PTR. */
  readonly resolveExtension: boolean;
  /** From accept to a complete request. A 0 given ("never") is {@link MAX_TIMER_MS} here. */
  readonly handshakeTimeoutMs: number;
  /** CONNECT's connection and BIND's incoming one. A 0 given ("never") is {@link MAX_TIMER_MS} here. */
  readonly connectTimeoutMs: number;
  /** RFC 8305's Connection Attempt Delay: how long one address of a name has before the next is tried too. */
  readonly connectAttemptDelayMs: number;
  /** A tunnel with no traffic either way is closed; 0: never (the relay sets no timer). */
  readonly idleTimeoutMs: number;
  /** A UDP association with no datagram is ended. A 0 given ("never") is {@link MAX_TIMER_MS} here. */
  readonly udpIdleTimeoutMs: number;
  /**
   * A forwarded HTTP request whose destination sends no answer head while the request body does not move is
   * answered 504; 0: never (no timer).
   */
  readonly responseTimeoutMs: number;
  /** The wait for the next request on an HTTP connection whose last one got in; 0: never (no timer). */
  readonly keepAliveTimeoutMs: number;
  /** Reassemble fragmented UDP datagrams (RFC 1928 section 7) instead of dropping them. */
  readonly udpReassembly: boolean;
  /** The IDENT check of SOCKS4 requests (RFC 1413), or undefined when off. */
  readonly ident: IdentSettings | undefined;
  /** The reassembly timer (at least 5 s, RFC 1928). */
  readonly udpReassemblyTimeoutMs: number;
  /** The address BIND listens on and UDP ASSOCIATE binds; default: the address the client connected to. */
  readonly externalAddress: string | undefined;
  /**
   * The source addresses of every outbound connection, the UDP relay's outbound sockets and BIND's listener, per
   * family; undefined when none is set (the system picks). A destination of a family without one is unreachable.
   */
  readonly outbound: LocalAddresses | undefined;
  /** Bandwidth and quotas per user or client address, with their counts (kept across reloads). */
  readonly usage: UsageControl;
  /** Called once per connection when it ends. */
  readonly onConnectionEnd: (record: ConnectionRecord) => void;
  /** The admission limits, every default filled in. */
  readonly limits: Limits;
  /** Called at most once per interval with what the limits refused in it. */
  readonly onLimit: (report: LimitReport) => void;
  /** Told at most once per interval that a listener cannot accept for want of file descriptors. */
  readonly onAcceptError: (error: Error) => void;
  /** Refuse requests that carry an IP address instead of a name (Tor's SafeSocks). */
  readonly safeSocks: boolean;
  /** Record for every request whether it carried a name (safe) or an address (Tor's TestSocks). */
  readonly testSocks: boolean;
  /** The protocols answered; a connection speaking another is closed unanswered. */
  readonly protocols: ReadonlySet<ServerProtocol>;
  /** The default route for CONNECT and HTTP: a chain of proxies, first hop first; empty: direct. */
  readonly upstream: readonly ProxySpec[];
  /** Peers whose connections start with a PROXY header (load balancers), parsed. */
  readonly proxyProtocolRanges: readonly Cidr[];
  /** Where connections are counted (for `/metrics`); every record passed to onConnectionEnd is counted. */
  readonly metrics: ServerMetrics;
  /** For TLS hops of upstream chains (`https://`, `socks5h+tls://`): the TLS client and extra CA certificates. */
  readonly upstreamTls: { readonly client?: StreamTlsClient; readonly ca?: string };
  /** The certificate and key a connection that starts with a TLS record is served with; undefined: no TLS. */
  readonly tls: TlsServerSettings | undefined;
  /** Refuse every connection that does not start with TLS (closed unanswered). */
  readonly tlsOnly: boolean;
  /** The DNS port's name map, whose addresses are turned back into names (mapped_destination.ts). */
  readonly nameMap: NameMap | undefined;
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
  /** Access rules: the first whose every condition matches decides; with rules, no match means deny. */
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
  /** From accept to a complete request; 0 means never; at most {@link MAX_TIMER_MS}. Default 30 s. */
  readonly handshakeTimeoutMs?: number;
  /** CONNECT's connection and BIND's incoming one; 0 means never; at most {@link MAX_TIMER_MS}. Default 120 s. */
  readonly connectTimeoutMs?: number;
  /**
   * Happy Eyeballs (RFC 8305): when a destination's name has several addresses, the next one is tried too once the
   * previous attempt has been pending this long (or at once when it failed); the first to connect wins. In ms, from
   * 10 to 2000 (the RFC's bounds); default 250. The connect timeout bounds the whole race.
   */
  readonly connectAttemptDelayMs?: number;
  /** A tunnel with no traffic either way is closed; 0 (the default) means never; at most {@link MAX_TIMER_MS}. */
  readonly idleTimeoutMs?: number;
  /** A UDP association with no datagram is ended; 0 means never; at most {@link MAX_TIMER_MS}. Default 120 s. */
  readonly udpIdleTimeoutMs?: number;
  /**
   * How long the destination of a forwarded HTTP request may take to begin its answer (its status line and
   * headers), counted from the last byte of the request sent: answered 504 Gateway Timeout when it runs out. 0
   * means never; at most {@link MAX_TIMER_MS}. Default 120 s.
   */
  readonly responseTimeoutMs?: number;
  /**
   * How long an HTTP connection may wait for its next request (and take to send its head) once a request on it got
   * past authentication; the first request, and any after a 407, have the handshake timeout. 0 means never; at
   * most {@link MAX_TIMER_MS}. Default: the handshake timeout.
   */
  readonly keepAliveTimeoutMs?: number;
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
  /** The address BIND listens on and UDP ASSOCIATE binds; default: the one the client reached. An IP address (IPv6 without brackets). */
  readonly externalAddress?: string;
  /**
   * The source address of every connection to a destination, of the UDP relay's outbound socket and of BIND's
   * listener, as Dante's `external` and Tor's `OutboundBindAddress`: at most one IPv4 and one IPv6 address, each
   * one of this machine's (startServer checks). With them, a destination of a family without one is refused as
   * network unreachable (SOCKS5 0x03).
   */
  readonly outboundAddresses?: readonly string[];
  /**
   * Bandwidth and quotas by user name (each a user of `users`): `bytesPerSecond` limits the user's combined rate
   * over all their tunnels, each direction on its own; `quotaBytes` the bytes moved both ways in the current
   * `quotaPeriod` (a UTC day, week from Monday, or month; default month). A spent quota refuses requests (SOCKS5
   * 0x02, SOCKS4 91, HTTP 403) and closes a tunnel at the crossing. Limited tunnels take the streams relay.
   */
  readonly userLimits?: Readonly<Record<string, UsageLimit>>;
  /** The same limits for each client address, applied to requests without a user (a server without users). */
  readonly clientLimit?: UsageLimit;
  /** Where the counts are kept (the CLI saves and reads it back); default a new one, kept across reloads. */
  readonly quotaLedger?: QuotaLedger;
  /**
   * Count bytes and refusals per user in the metrics (`tabi_user_bytes_total`, `tabi_user_refused_total`). Off by
   * default: every user becomes a label value, a cardinality the operator chooses to pay.
   */
  readonly metricsPerUser?: boolean;
  /** Called once per connection when it ends, with its log record. */
  readonly onConnectionEnd?: (record: ConnectionRecord) => void;
  /** Admission limits; each one not given keeps its default ({@link DEFAULT_LIMITS}). */
  readonly limits?: Partial<Limits>;
  /** Called at most once per 10 s with the refusals of that interval (a flood must not flood the log). */
  readonly onLimit?: (report: LimitReport) => void;
  /**
   * Called at most once per 10 s while a listener cannot accept for want of file descriptors (EMFILE/ENFILE); the
   * server keeps running and accepts again once descriptors are free.
   */
  readonly onAcceptError?: (error: Error) => void;
  /**
   * Tor's SafeSocks: refuse SOCKS4 CONNECT/BIND (CD 91) and SOCKS5 CONNECT with an IPv4 or IPv6 address (REP
   * 0x02), since such a client resolved the name itself; SOCKS4a and SOCKS5 with a name pass. Off by default.
   */
  readonly safeSocks?: boolean;
  /** Tor's TestSocks: the log record of every request says whether it was safe (see safeSocks); nothing refused. */
  readonly testSocks?: boolean;
  /**
   * With no users: accept RFC 1929 with any username and password (Tor-style stream isolation, `torsocks -i`),
   * logging the username as the session's label. Refused together with users, so it never weakens real
   * authentication.
   */
  readonly acceptAnyCredentials?: boolean;
  /** The protocols answered on every listen address; default all ({@link ALL_PROTOCOLS}). */
  readonly protocols?: readonly ServerProtocol[];
  /**
   * Reach destinations through these proxies (a chain, first hop first: `socks5h://127.0.0.1:9050`, `http://...`)
   * instead of directly. With a socks4a, socks5h, socks or http last hop, destination names are passed on, never
   * resolved here. BIND and UDP ASSOCIATE go through a chain of one SOCKS5 proxy; through any other chain they are
   * refused ("command not supported"), as RESOLVE always is.
   */
  readonly upstream?: readonly ProxyInput[];
  /**
   * CIDR ranges of load balancers that send a PROXY header (v1 or v2): a connection from them must start with one,
   * and its source address is the client. From any other peer a PROXY header is refused as malformed.
   */
  readonly proxyProtocol?: readonly string[];
  /** Listen with SO_REUSEPORT, so that several processes (workers) accept on the same addresses. */
  readonly reusePort?: boolean;
  /**
   * Also accept TLS on every listener, recognised by its first byte (a TLS handshake record, 0x16): inside it the
   * same protocols are answered (an HTTPS proxy, SOCKS over TLS). PEM text of the certificate chain and its key;
   * the Network's connections must offer `upgradeToTlsServer` (Deno's, Bun's and Node's do).
   */
  readonly tls?: TlsServerSettings;
  /**
   * For TLS hops in `upstream` and in rules' upstreams (`https://`, `socks5h+tls://`): the TLS client (the package
   * root's `startServer` and the CLI fill in the running runtime's) and PEM text of CA certificates to trust besides
   * the runtime's store (`tabi serve --proxy-cacert`).
   */
  readonly upstreamTls?: { readonly client?: StreamTlsClient; readonly ca?: string };
  /** With {@link ServerOptions.tls}: refuse plaintext (a connection whose first byte is not TLS is closed unanswered). */
  readonly tlsOnly?: boolean;
  /**
   * The name map of a DNS port (`startDnsPort`): a destination address it mapped is turned back into its name before
   * anything else sees the request. Pass the same map again on a reload: names stay mapped.
   */
  readonly nameMap?: NameMap;
}

/**
 * Fills in every default and checks the options; throws a SocksError that says what is wrong. `metrics` is where
 * its records are counted (a reload passes the running server's, so that the counts go on).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveConfig } from "./config.ts";
 * import { MemoryNetwork } from "../net/memory_network.ts";
 * const network = new MemoryNetwork();
 * const config = resolveConfig({ idleTimeoutMs: 60_000, network });
 * assert.equal(config.idleTimeoutMs, 60_000);
 * assert.equal(config.socks4, "open");
 * assert.throws(() => resolveConfig({ handshakeTimeoutMs: 2 ** 31, network }), /handshakeTimeoutMs must be/);
 * ```
 */
export function resolveConfig(
  options: ServerOptions,
  metrics: ServerMetrics = new ServerMetrics(),
  previousUsage?: UsageControl,
): ServerConfig {
  const users = options.users && options.users.size > 0 ? options.users : undefined;
  if (options.acceptAnyCredentials && (users || options.authenticators)) {
    throw new SocksError(
      "bad-field",
      "acceptAnyCredentials (--accept-any-credentials) is only for a server without users: with users it would let " +
        "any password in",
    );
  }
  const anonymous = options.acceptAnyCredentials ? [anyCredentialsAuthenticator, noAuth] : [noAuth];
  const authenticators = options.authenticators ?? (users ? [userPassAuthenticator(users)] : anonymous);
  if (authenticators.length === 0) throw new SocksError("bad-field", "no authentication method configured");
  const rules = options.rules ?? [];
  validateRules(rules);
  const protectedDestinations = options.protectedDestinations ??
    (listenAddresses(options).every((l) => isLoopback(l.hostname)) ? [] : PROTECTED_WHEN_EXPOSED);
  const protectedRanges = protectedDestinations.map((range) => {
    try {
      return parseCidr(range);
    } catch (error) {
      throw new SocksError("bad-field", `protectedDestinations: ${(error as Error).message}`);
    }
  });
  const timeout = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!(Number.isFinite(value) && value >= 0 && value <= MAX_TIMER_MS)) {
      throw new SocksError(
        "bad-field",
        `${name} must be a number of milliseconds from 0 (never) to ${MAX_TIMER_MS} (about 24.8 days), not ${value}`,
      );
    }
    return value;
  };
  if (options.externalAddress !== undefined && ipAddress(options.externalAddress) === undefined) {
    throw new SocksError("bad-field", `externalAddress must be an IP address, not "${options.externalAddress}"`);
  }
  // Set once the options passed their checks (a refused reload changes nothing).
  metrics.perUser = options.metricsPerUser ?? false;
  return {
    network: requireNetwork(options.network, "startServer"),
    authenticators,
    socks4Users: users,
    socks4: authenticators.includes(noAuth) ? "open" : users && options.allowSocks4UserId ? "userid" : "refused",
    rules,
    protectedDestinations,
    protectedRanges,
    resolveExtension: options.resolveExtension ?? false,
    // 0 means never: no timer is started for it (the handshake deadline, startDeadline and the idle timer skip 0).
    handshakeTimeoutMs: timeout("handshakeTimeoutMs", options.handshakeTimeoutMs, DEFAULT_TIMEOUTS.handshakeMs),
    connectTimeoutMs: timeout("connectTimeoutMs", options.connectTimeoutMs, DEFAULT_TIMEOUTS.connectMs),
    connectAttemptDelayMs: attemptDelay(options.connectAttemptDelayMs),
    idleTimeoutMs: timeout("idleTimeoutMs", options.idleTimeoutMs, DEFAULT_TIMEOUTS.idleMs),
    udpIdleTimeoutMs: timeout("udpIdleTimeoutMs", options.udpIdleTimeoutMs, DEFAULT_TIMEOUTS.udpIdleMs),
    responseTimeoutMs: timeout("responseTimeoutMs", options.responseTimeoutMs, DEFAULT_TIMEOUTS.responseMs),
    keepAliveTimeoutMs: timeout(
      "keepAliveTimeoutMs",
      options.keepAliveTimeoutMs,
      timeout("handshakeTimeoutMs", options.handshakeTimeoutMs, DEFAULT_TIMEOUTS.handshakeMs),
    ),
    udpReassembly: options.udpReassembly ?? false,
    udpReassemblyTimeoutMs: new UdpReassemblyQueue({ timeoutMs: options.udpReassemblyTimeoutMs }).timeoutMs,
    ident: resolveIdent(options.ident),
    externalAddress: options.externalAddress,
    outbound: outboundAddresses(options.outboundAddresses),
    usage: new UsageControl(
      userLimits(options),
      checkLimit("clientLimit", options.clientLimit),
      options.quotaLedger ?? previousUsage?.ledger ?? new QuotaLedger(),
      previousUsage,
    ),
    // Every record is counted, whoever made it (the SOCKS session or the HTTP one), then logged.
    onConnectionEnd: countThen(metrics, options.onConnectionEnd),
    limits: resolveLimits(options.limits),
    onLimit: options.onLimit ?? (() => {}),
    onAcceptError: options.onAcceptError ?? (() => {}),
    safeSocks: options.safeSocks ?? false,
    testSocks: options.testSocks ?? false,
    protocols: resolveProtocols(options.protocols),
    upstream: options.upstream && options.upstream.length > 0 ? proxyList(options.upstream) : [],
    proxyProtocolRanges: (options.proxyProtocol ?? []).map((range) => {
      try {
        return parseCidr(range);
      } catch (error) {
        throw new SocksError("bad-field", `proxyProtocol: ${(error as Error).message}`);
      }
    }),
    metrics,
    tls: options.tls,
    upstreamTls: options.upstreamTls ?? {},
    tlsOnly: resolveTlsOnly(options),
    nameMap: options.nameMap,
  };
}

function resolveTlsOnly(options: ServerOptions): boolean {
  if (options.tlsOnly && options.tls === undefined) {
    throw new SocksError("bad-field", "tlsOnly (--tls-only) needs a certificate and key (--tls-cert, --tls-key)");
  }
  return options.tlsOnly ?? false;
}

/** The user limits given, checked: each names a user of `users`. */
function userLimits(options: ServerOptions): Map<string, UsageLimit> {
  const out = new Map<string, UsageLimit>();
  for (const [name, limit] of Object.entries(options.userLimits ?? {})) {
    if (!options.users?.has(name)) throw new SocksError("bad-field", `userLimits: "${name}" is not a user`);
    const checked = checkLimit(`userLimits.${name}`, limit);
    if (checked !== undefined) out.set(name, checked);
  }
  return out;
}

/** A limit checked: positive rate, quota of 0 or more, a known period; undefined when it limits nothing. */
function checkLimit(where: string, limit: UsageLimit | undefined): UsageLimit | undefined {
  if (limit === undefined) return undefined;
  const { bytesPerSecond, quotaBytes, quotaPeriod } = limit;
  if (bytesPerSecond !== undefined && !(Number.isFinite(bytesPerSecond) && bytesPerSecond > 0)) {
    throw new SocksError("bad-field", `${where}.bytesPerSecond must be a number above 0, not ${bytesPerSecond}`);
  }
  if (quotaBytes !== undefined && !(Number.isFinite(quotaBytes) && quotaBytes >= 0)) {
    throw new SocksError("bad-field", `${where}.quotaBytes must be a number from 0, not ${quotaBytes}`);
  }
  if (quotaPeriod !== undefined && !QUOTA_PERIODS.includes(quotaPeriod)) {
    throw new SocksError(
      "bad-field",
      `${where}.quotaPeriod must be one of ${QUOTA_PERIODS.join(", ")}, not ${quotaPeriod}`,
    );
  }
  return bytesPerSecond === undefined && quotaBytes === undefined ? undefined : limit;
}

/** The outbound addresses given, one per family at most, or undefined when none is. */
function outboundAddresses(given: readonly string[] | undefined): LocalAddresses | undefined {
  if (given === undefined || given.length === 0) return undefined;
  let ipv4: string | undefined;
  let ipv6: string | undefined;
  for (const text of given) {
    const address = ipAddress(text);
    if (address === undefined) throw new SocksError("bad-field", `outboundAddresses: "${text}" is not an IP address`);
    if ((address.type === "ipv4" ? ipv4 : ipv6) !== undefined) {
      throw new SocksError(
        "bad-field",
        `outboundAddresses: more than one ${address.type === "ipv4" ? "IPv4" : "IPv6"} address`,
      );
    }
    if (address.type === "ipv4") ipv4 = address.host;
    else ipv6 = address.host;
  }
  return { ipv4, ipv6 };
}

/** The Connection Attempt Delay given, checked against RFC 8305's bounds, or the default. */
function attemptDelay(given: number | undefined): number {
  if (given === undefined) return HAPPY_EYEBALLS.attemptDelayMs;
  const problem = checkAttemptDelay(given);
  if (problem !== undefined) throw new SocksError("bad-field", `connectAttemptDelayMs ${problem}`);
  return given;
}

function resolveProtocols(given: ServerOptions["protocols"]): ServerConfig["protocols"] {
  if (given === undefined) return new Set(ALL_PROTOCOLS);
  for (const p of given) {
    if (!ALL_PROTOCOLS.includes(p)) {
      throw new SocksError("bad-field", `unknown protocol "${p}" (use ${ALL_PROTOCOLS.join(", ")})`);
    }
  }
  if (given.length === 0) throw new SocksError("bad-field", "protocols: at least one is needed");
  return new Set(given);
}

function countThen(
  metrics: ServerMetrics,
  log: ((record: ConnectionRecord) => void) | undefined,
): (record: ConnectionRecord) => void {
  return (record) => {
    metrics.connectionEnded(record);
    log?.(record);
  };
}

/**
 * The addresses to listen on: the given ones, else the default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenAddresses } from "./config.ts";
 * assert.deepEqual(listenAddresses({}), [{ hostname: "127.0.0.1", port: 1080 }]);
 * ```
 */
export function listenAddresses(
  options: ServerOptions,
): readonly { readonly hostname: string; readonly port: number }[] {
  return options.listen && options.listen.length > 0 ? options.listen : [DEFAULT_LISTEN];
}

function resolveLimits(given: Partial<Limits> = {}): Limits {
  for (const [name, value] of Object.entries(given)) {
    if (!(name in DEFAULT_LIMITS)) throw new SocksError("bad-field", `unknown limit ${name}`);
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      throw new SocksError("bad-field", `${name} must be a whole number >= 1, not ${value}`);
    }
  }
  return { ...DEFAULT_LIMITS, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
}
