/**
 * Every `tabi serve` setting, described once. The help text, the parseArgs options, the config file's checks and
 * the mapping to ServerOptions are all derived from this table (serve_config.ts), so adding a setting is adding a
 * row here, and nothing else.
 *
 * A row (see {@link SettingRow}):
 * ```
 * setting({
 *   flag: "idle-timeout",        // the command-line flag, without "--"; absent: config file only
 *   key: "idleTimeout",          // the config file key; absent: command line only
 *   kind: KINDS.seconds,         // the value's kind (setting_kinds.ts): how it is written, parsed and shown
 *   default: 0,                  // optional: used when neither flag nor key is given, and shown in the help
 *   help: "close a tunnel idle this long",   // the help line (a "\n" starts a continuation line)
 *   check: (ms) => undefined,    // optional: more validation; returns the problem, or undefined when fine
 *   to: (ms) => ({ options: { idleTimeoutMs: ms } }),   // optional: where the value goes (ServerOptions, or
 * }),                                                   // the CLI's own log/quiet/graceMs/usersFile)
 * ```
 * The flag wins over the file. The help lists rows in table order, and parts are merged in table order
 * (users from several rows are added together, later rows winning for the same name; limits key by key).
 * `to` also gets `where` (the flag, or the file and key) for the messages of any later check it makes.
 * An admission limit is one `limit(flag, key, help)` row (the key is the Limits name). A value of a new kind goes
 * into KINDS (setting_kinds.ts) first; a new CLI-only result (not a ServerOptions field) into {@link SettingPart}.
 * Defaults shown in the help come from the library's own constants where it has them (DEFAULT_TIMEOUTS, ...).
 *
 * @module
 */
import { ALL_PROTOCOLS, DEFAULT_TIMEOUTS, type ServerOptions } from "../lib/server/config.ts";
import type { LogFormat } from "../lib/server/connection_record.ts";
import { DEFAULT_LIMITS, type LimitName } from "../lib/server/limits.ts";
import { UsageError } from "./usage_error.ts";
import { checkRedisUrl } from "./quota_store_redis.ts";
import { checkAttemptDelay, HAPPY_EYEBALLS } from "../lib/net/connect_any.ts";
import { type FlagValue, type Kind, KINDS, readUsersFile } from "./setting_kinds.ts";
import { type MetricsAddress, SCALE_KINDS } from "./scale_settings.ts";
import { DNS_KINDS, type DnsSettings } from "./dns_settings.ts";
import { NAME_MAP_DEFAULTS } from "../lib/server/name_map.ts";
import { GSSAPI_KINDS, type GssApiSettings } from "./gssapi_flags.ts";
import type { GssApiProtectionName } from "../lib/server/gssapi_auth.ts";
import type { TlsFileSettings } from "./tls_files.ts";

/** What one setting contributes to the settings `tabi serve` runs with. */
export interface SettingPart {
  /** Merged into ServerOptions; `users` and `limits` are merged entry by entry. */
  readonly options?: ServerOptions;
  readonly log?: LogFormat;
  readonly quiet?: boolean;
  /** On SIGINT/SIGTERM, how long open tunnels may finish. */
  readonly graceMs?: number;
  /** Where users were read from, for the warning about loose permissions. */
  readonly usersFile?: string;
  /** Processes accepting on every listen address (`--workers`). */
  readonly workers?: number;
  /** Where `/metrics` and `/healthz` are served (`--metrics`). */
  readonly metrics?: MetricsAddress;
  /** The GSS-API method's settings (`--gssapi` and friends). */
  readonly gssapi?: GssApiSettings;
  /** The upstreams' CA file (`--proxy-cacert`), read by serve.ts at start and on SIGHUP. */
  readonly proxyCacert?: { readonly path: string; readonly where: string };
  /** The TLS certificate and key files (`--tls-cert`, `--tls-key`), read by serve.ts at start and on SIGHUP. */
  readonly tls?: TlsFileSettings;
  /** Where the quota counts are saved (`--state-dir`). */
  readonly stateDir?: string;
  /** The Redis URL the quota counts are shared through (`--quota-store`). */
  readonly quotaStore?: string;
  /** The DNS port's settings (`--dns` and friends). */
  readonly dns?: DnsSettings;
}

/** The CLI's own defaults (the server's are in lib/server). */
export const CLI_DEFAULTS = { log: "text", quiet: false, graceMs: 10_000, workers: 1 } as const;

/** One row of the table; `V` is the value its kind produces. */
export interface SettingRow<V> {
  readonly flag?: string;
  /** A one-letter alias of the flag. */
  readonly short?: string;
  readonly key?: string;
  readonly kind: Kind<V>;
  readonly default?: V;
  readonly help: string;
  readonly check?: (value: V) => string | undefined;
  readonly to?: (value: V, where: string) => SettingPart | Promise<SettingPart>;
}

/** A row with its value type sealed in: what the derivations work with. */
export interface Setting {
  readonly flag?: string;
  readonly short?: string;
  readonly key?: string;
  /** The parseArgs option for the flag (its kind's). */
  readonly option: Kind<unknown>["option"];
  /** The placeholder in the help text. */
  readonly arg: string;
  /** The default as the help shows it; undefined when there is none to show. */
  readonly shownDefault: string | undefined;
  readonly help: string;
  /**
   * Turns the flag's value, else the file's, else the default into this setting's part. `where` names the flag or
   * the file and key for messages; undefined when neither was given.
   */
  readonly resolve: (given: GivenValue | undefined) => Promise<SettingPart>;
  /** The admission limit the row sets, for the refusal log. */
  readonly limit?: LimitName;
}

/** A value given for a setting: on the command line, or in the config file; `where` names the flag or key. */
export type GivenValue =
  | { readonly source: "flag"; readonly value: FlagValue; readonly where: string }
  | { readonly source: "file"; readonly value: unknown; readonly where: string };

/** The message of a value of the wrong shape. */
function mismatch(source: "flag" | "file", value: unknown, expected: string): string {
  return source === "flag" ? `"${String(value)}" is not ${expected}` : `must be ${expected}`;
}

/**
 * Seals a row's value type in (so the table can hold rows of every kind) and checks it at compile time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setting } from "./serve_settings.ts";
 * import { KINDS } from "./setting_kinds.ts";
 * const row = setting({
 *   flag: "idle-timeout",
 *   key: "idleTimeout",
 *   kind: KINDS.seconds,
 *   default: 0,
 *   help: "close a tunnel idle this long",
 *   to: (idleTimeoutMs) => ({ options: { idleTimeoutMs } }),
 * });
 * assert.deepEqual(await row.resolve({ source: "flag", value: "1.5", where: "--idle-timeout" }), {
 *   options: { idleTimeoutMs: 1500 },
 * });
 * await assert.rejects(row.resolve({ source: "file", value: "5", where: '"idleTimeout"' }), /must be a number/);
 * ```
 */
export function setting<V>(row: SettingRow<V>): Setting {
  const { kind } = row;
  return {
    flag: row.flag,
    short: row.short,
    key: row.key,
    option: kind.option,
    arg: kind.arg,
    shownDefault: row.default === undefined ? undefined : kind.show(row.default),
    help: row.help,
    resolve: async (given) => {
      let value = row.default;
      if (given !== undefined) {
        let parsed: V | undefined;
        try {
          parsed = given.source === "flag" ? kind.fromFlag(given.value) : kind.fromJson(given.value);
        } catch (error) {
          if (error instanceof UsageError) throw error;
          throw new UsageError(`${given.where}: ${(error as Error).message}`);
        }
        if (parsed === undefined) {
          throw new UsageError(
            `${given.where}${given.source === "flag" ? ":" : ""} ${mismatch(given.source, given.value, kind.expected)}`,
          );
        }
        const problem = row.check?.(parsed);
        if (problem !== undefined) throw new UsageError(`${given.where}: ${problem}`);
        value = parsed;
      }
      return value === undefined || row.to === undefined ? {} : await row.to(value, given?.where ?? "");
    },
  };
}

/** A limit's row: the config key is the ServerOptions limit's name. */
function limit(flag: string, key: LimitName, help: string): Setting {
  const row = setting({
    flag,
    key,
    kind: KINDS.count,
    default: DEFAULT_LIMITS[key],
    help,
    to: (n) => ({ options: { limits: { [key]: n } } }),
  });
  return { ...row, limit: key };
}

/** Every `tabi serve` setting, in the order of the help text. */
export const SERVE_SETTINGS: readonly Setting[] = [
  setting({
    flag: "listen",
    key: "listen",
    kind: KINDS.listen,
    default: [{ hostname: "127.0.0.1", port: 1080 }],
    help: "listen here (repeatable; [IPv6]:PORT for IPv6)",
    to: (listen) => ({ options: { listen } }),
  }),
  setting({
    key: "users",
    kind: KINDS.userObject,
    help: "users, as an object of name: password, or of name: {password, bytesPerSecond,\n" +
      "quotaBytes, quotaPeriod} (day, week or month; default month)",
    to: ({ users, limits }) => ({ options: { users, userLimits: limits } }),
  }),
  setting({
    flag: "users",
    key: "usersFile",
    kind: KINDS.file,
    help: "users from a file, one NAME:PASSWORD a line; the password runs to the end of the line,\n" +
      "trailing spaces included; blank lines and # comments are skipped; an empty file is refused",
    to: async (path, where) => ({ options: { users: await readUsersFile(path, where) }, usersFile: path }),
  }),
  setting({
    flag: "user",
    kind: KINDS.userFlags,
    help: "a user (repeatable). With users, SOCKS5 requires username/password (RFC 1929)\n" +
      "and SOCKS4, which has no password, is refused",
    to: (users) => ({ options: { users } }),
  }),
  setting({
    flag: "allow-socks4-userid",
    key: "allowSocks4UserId",
    kind: KINDS.boolean,
    help: "with users, let SOCKS4 in when its USERID names a user (no password is checked)",
    to: (allowSocks4UserId) => ({ options: { allowSocks4UserId } }),
  }),
  setting({
    flag: "config",
    kind: KINDS.file,
    help: "a JSON file holding any of these settings (by their config key), and access rules",
  }),
  setting({
    key: "rules",
    kind: KINDS.rules,
    help: "access rules",
    to: (rules) => ({ options: { rules } }),
  }),
  setting({
    flag: "protocols",
    key: "protocols",
    kind: KINDS.protocols,
    default: ALL_PROTOCOLS,
    help: "what the listen addresses answer (the first byte of a connection decides)",
    to: (protocols) => ({ options: { protocols } }),
  }),
  setting({
    flag: "upstream",
    key: "upstream",
    kind: KINDS.proxyUrls,
    help: "reach destinations through this proxy (repeatable: a chain, first hop first):\n" +
      "socks4, socks4a, socks5, socks5h, socks or http URLs, user:pass@ allowed. With socks4a,\n" +
      "socks5h, socks or http last, names are passed on, never resolved here.\n" +
      "BIND and UDP ASSOCIATE go through one SOCKS5 upstream (else 0x07); RESOLVE is refused (0x07).\n" +
      "https:// and socks5h+tls:// (any SOCKS scheme with +tls) reach the proxy inside TLS",
    to: (upstream) => ({ options: { upstream } }),
  }),
  setting({
    flag: "proxy-cacert",
    key: "proxyCacert",
    kind: KINDS.file,
    help: "CA certificates (PEM) that TLS upstreams' certificates may chain to, besides the system's",
    to: (path, where) => ({ proxyCacert: { path, where } }),
  }),
  setting({
    flag: "tls-cert",
    key: "tlsCert",
    kind: KINDS.file,
    help: "also accept TLS on every listen address (an HTTPS proxy, SOCKS over TLS), told apart\n" +
      "by its first byte: this certificate, then any intermediates (PEM; RSA or ECDSA)",
    to: (path, where) => ({ tls: { cert: { path, where } } }),
  }),
  setting({
    flag: "tls-key",
    key: "tlsKey",
    kind: KINDS.file,
    help: "the certificate's private key (PEM); both files are read again on SIGHUP",
    to: (path, where) => ({ tls: { key: { path, where } } }),
  }),
  setting({
    flag: "tls-only",
    key: "tlsOnly",
    kind: KINDS.boolean,
    help: "with --tls-cert: close every connection that does not start with TLS, unanswered",
    to: (tlsOnly) => ({ options: { tlsOnly } }),
  }),
  setting({
    flag: "allow-open",
    key: "allowOpen",
    kind: KINDS.boolean,
    help: "allow a non-loopback listen address without authentication",
    to: (allowOpen) => ({ options: { allowOpen } }),
  }),
  setting({
    flag: "resolve-extension",
    key: "resolveExtension",
    kind: KINDS.boolean,
    help: "answer Tor's RESOLVE (0xF0) and RESOLVE_PTR (0xF1)",
    to: (resolveExtension) => ({ options: { resolveExtension } }),
  }),
  setting({
    flag: "safe-socks",
    key: "safeSocks",
    kind: KINDS.boolean,
    help: "refuse requests that carry an IP address instead of a name (Tor's SafeSocks):\n" +
      "the client resolved the name itself, so its DNS saw where it went",
    to: (safeSocks) => ({ options: { safeSocks } }),
  }),
  setting({
    flag: "test-socks",
    key: "testSocks",
    kind: KINDS.boolean,
    help: "log for every request whether it was safe in that sense (Tor's TestSocks)",
    to: (testSocks) => ({ options: { testSocks } }),
  }),
  setting({
    flag: "accept-any-credentials",
    key: "acceptAnyCredentials",
    kind: KINDS.boolean,
    help: "without users: accept any username/password (Tor-style stream isolation, as sent by\n" +
      "torsocks -i and Tor Browser), logging the username as a label; refused with users",
    to: (acceptAnyCredentials) => ({ options: { acceptAnyCredentials } }),
  }),
  setting({
    flag: "handshake-timeout",
    key: "handshakeTimeout",
    kind: KINDS.seconds,
    default: DEFAULT_TIMEOUTS.handshakeMs,
    help: "time for greeting, authentication and request (0: never)",
    to: (handshakeTimeoutMs) => ({ options: { handshakeTimeoutMs } }),
  }),
  setting({
    flag: "connect-timeout",
    key: "connectTimeout",
    kind: KINDS.seconds,
    default: DEFAULT_TIMEOUTS.connectMs,
    help: "time for CONNECT's connection and BIND's incoming one (0: never)",
    to: (connectTimeoutMs) => ({ options: { connectTimeoutMs } }),
  }),
  setting({
    flag: "connect-attempt-delay",
    key: "connectAttemptDelay",
    kind: KINDS.seconds,
    default: HAPPY_EYEBALLS.attemptDelayMs,
    help: "Happy Eyeballs (RFC 8305): a name's next address is tried too after this\n" +
      "(0.01 to 2); the first to connect wins, the connect timeout bounds the race",
    check: checkAttemptDelay,
    to: (connectAttemptDelayMs) => ({ options: { connectAttemptDelayMs } }),
  }),
  setting({
    flag: "idle-timeout",
    key: "idleTimeout",
    kind: KINDS.seconds,
    default: DEFAULT_TIMEOUTS.idleMs,
    help: "close a tunnel idle this long",
    to: (idleTimeoutMs) => ({ options: { idleTimeoutMs } }),
  }),
  setting({
    flag: "response-timeout",
    key: "responseTimeout",
    kind: KINDS.seconds,
    default: DEFAULT_TIMEOUTS.responseMs,
    help: "time an HTTP destination has to begin its answer once the request is sent (504 after; 0: never)",
    to: (responseTimeoutMs) => ({ options: { responseTimeoutMs } }),
  }),
  setting({
    flag: "udp-timeout",
    key: "udpTimeout",
    kind: KINDS.seconds,
    default: DEFAULT_TIMEOUTS.udpIdleMs,
    help: "end a UDP association idle this long (0: never)",
    to: (udpIdleTimeoutMs) => ({ options: { udpIdleTimeoutMs } }),
  }),
  setting({
    flag: "external-address",
    key: "externalAddress",
    kind: KINDS.ip,
    help: "address BIND listens on and UDP ASSOCIATE binds (default: the one the client reached)",
    to: (externalAddress) => ({ options: { externalAddress } }),
  }),
  setting({
    key: "clientLimit",
    kind: KINDS.limitObject,
    help: "without users: each client address's {bytesPerSecond, quotaBytes, quotaPeriod}",
    to: (clientLimit) => ({ options: { clientLimit } }),
  }),
  setting({
    flag: "metrics-per-user",
    key: "metricsPerUser",
    kind: KINDS.boolean,
    default: false,
    help: "/metrics: bytes and refusals per user too (one label value per user)",
    to: (metricsPerUser) => ({ options: { metricsPerUser } }),
  }),
  setting({
    flag: "state-dir",
    key: "stateDir",
    kind: KINDS.file,
    help: "save the quota counts in DIR/quota.json (each second while they change; read\n" +
      "back at start and on SIGHUP)",
    to: (stateDir) => ({ stateDir }),
  }),
  setting({
    flag: "quota-store",
    key: "quotaStore",
    kind: KINDS.url,
    help: "share the quota counts of a fleet through Redis: redis://HOST:PORT[/DB]\n" +
      "(needs npm's @redis/client; instead of --state-dir)",
    check: checkRedisUrl,
    to: (quotaStore) => ({ quotaStore }),
  }),
  setting({
    flag: "outbound-address",
    key: "outboundAddress",
    kind: KINDS.ips,
    help: "source address of every outbound connection, of the UDP relay's outbound socket\n" +
      "and of BIND's listener (repeatable: one IPv4, one IPv6; must be on this machine)",
    to: (outboundAddresses) => ({ options: { outboundAddresses } }),
  }),
  setting({
    flag: "udp-reassembly",
    key: "udpReassembly",
    kind: KINDS.boolean,
    help: "reassemble fragmented UDP datagrams (RFC 1928 section 7) instead of dropping them",
    to: (udpReassembly) => ({ options: { udpReassembly } }),
  }),
  setting({
    flag: "ident",
    key: "ident",
    kind: KINDS.boolean,
    help: "check SOCKS4 USERIDs with the client host's identd (RFC 1413, port 113):\n" +
      "92 when it cannot be reached, 93 when it reports another user",
    to: (ident) => ({ options: { ident } }),
  }),
  // GSS-API (RFC 1961): command line only; serve.ts loads the library and builds the method from these settings.
  setting({
    flag: "gssapi",
    kind: KINDS.boolean,
    help: "SOCKS5 GSS-API authentication (RFC 1961, Kerberos); the principal is the user",
    to: (enabled) => ({ gssapi: { enabled } }),
  }),
  setting({
    flag: "gssapi-keytab",
    kind: KINDS.file,
    help: "the acceptor's keytab (default: KRB5_KTNAME, else the system's)",
    to: (keytab) => ({ gssapi: { keytab, given: ["gssapi-keytab"] } }),
  }),
  setting({
    flag: "gssapi-service",
    kind: GSSAPI_KINDS.name,
    default: "rcmd",
    help: "the service clients get tickets for: NAME/host@REALM",
    to: (service, where) => ({ gssapi: { service, given: where === "" ? [] : ["gssapi-service"] } }),
  }),
  setting<GssApiProtectionName>({
    flag: "gssapi-protection",
    kind: GSSAPI_KINDS.protection,
    default: "confidentiality",
    help: "most protection granted: none, integrity, confidentiality\n" +
      "(curl applies none and fails when granted any: serve it with none)",
    to: (protection, where) => ({ gssapi: { protection, given: where === "" ? [] : ["gssapi-protection"] } }),
  }),
  setting({
    flag: "grace",
    key: "grace",
    kind: KINDS.seconds,
    default: CLI_DEFAULTS.graceMs,
    help: "on SIGINT/SIGTERM, let open tunnels finish this long (a second signal cuts them at once)",
    to: (graceMs) => ({ graceMs }),
  }),
  limit("max-clients", "maxClients", "connections at once; over a limit a client is closed at once"),
  limit("max-clients-per-address", "maxClientsPerAddress", "connections at once from one address"),
  limit("max-handshakes", "maxHandshakes", "connections still in their handshake"),
  limit("max-udp", "maxUdpAssociations", "UDP associations at once"),
  limit("max-udp-per-client", "maxUdpAssociationsPerClient", "UDP associations at once from one address"),
  limit(
    "max-udp-in-flight",
    "maxUdpDatagramsInFlight",
    "datagrams of one association waiting to be sent; more are dropped",
  ),
  setting({
    flag: "proxy-protocol",
    key: "proxyProtocol",
    kind: SCALE_KINDS.cidrs,
    help: "peers in this range (load balancers) must start with a PROXY header (v1 or v2),\n" +
      "whose source address is then the client (repeatable)",
    to: (proxyProtocol) => ({ options: { proxyProtocol } }),
  }),
  setting({
    flag: "workers",
    key: "workers",
    kind: SCALE_KINDS.workers,
    default: CLI_DEFAULTS.workers,
    help: "processes accepting on every listen address (SO_REUSEPORT; auto: one per core)\n" +
      "the limits apply per worker",
    to: (workers) => ({ workers }),
  }),
  setting({
    flag: "metrics",
    key: "metrics",
    kind: SCALE_KINDS.endpoint,
    help: "serve GET /metrics (Prometheus) and /healthz here; loopback unless --allow-open or users",
    to: (metrics) => ({ metrics }),
  }),
  setting({
    flag: "dns",
    key: "dns",
    kind: DNS_KINDS.listen,
    help: "a DNS port here, UDP and TCP, that resolves nothing: A/AAAA answers are mapped addresses\n" +
      "turned back into the name when a client connects to them (repeatable; loopback unless\n" +
      "--allow-open or users; see docs/dns_port.md)",
    to: (listen) => ({ dns: { listen } }),
  }),
  setting({
    flag: "dns-ipv4-range",
    key: "dnsIpv4Range",
    kind: DNS_KINDS.cidr,
    default: NAME_MAP_DEFAULTS.ipv4Range,
    help: "the IPv4 range --dns maps names into",
    to: (ipv4Range) => ({ dns: { map: { ipv4Range } } }),
  }),
  setting({
    flag: "dns-ipv6-range",
    key: "dnsIpv6Range",
    kind: DNS_KINDS.cidr,
    default: NAME_MAP_DEFAULTS.ipv6Range,
    help: "the IPv6 range --dns maps names into",
    to: (ipv6Range) => ({ dns: { map: { ipv6Range } } }),
  }),
  setting({
    flag: "dns-map-size",
    key: "dnsMapSize",
    kind: KINDS.count,
    default: NAME_MAP_DEFAULTS.size,
    help: "names --dns keeps mapped at most; the least recently used goes first, never one in use",
    to: (size) => ({ dns: { map: { size } } }),
  }),
  setting({
    flag: "log",
    key: "log",
    kind: KINDS.logFormat,
    default: CLI_DEFAULTS.log,
    help: "log format: one line per connection, on stderr",
    to: (log) => ({ log }),
  }),
  setting({
    flag: "quiet",
    key: "quiet",
    kind: KINDS.boolean,
    help: "no connection log",
    to: (quiet) => ({ quiet }),
  }),
  setting({ flag: "help", short: "h", kind: KINDS.boolean, help: "this text" }),
];
