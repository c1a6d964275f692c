/**
 * The audit's SOCKS listener: tabi's own server (so every version, method and request is read exactly as in
 * production) on a Network that reaches nothing but the audit page. Every request is recorded: version, method,
 * USERID or username (never a password), the destination as sent and its address type. Requests for the audit
 * site, by name or by the addresses the audit's DNS handed out, get the page; everything else is refused.
 *
 * @module
 */
import { endpointToHostPort } from "../net/endpoint.ts";
import type { Endpoint, Network } from "../net/network.ts";
import { formatHostPort } from "../wire/address.ts";
import { anyCredentialsAuthenticator } from "../server/any_credentials.ts";
import { type Authenticator, noAuth } from "../server/auth.ts";
import type { ConnectionRecord, RecordAddressType } from "../server/connection_record.ts";
import { startServer } from "../server/server.ts";
import { SocksError } from "../wire/socks_error.ts";
import { pageConnection } from "./audit_page.ts";
import { type AuditSite, isAuditHost } from "./audit_site.ts";
import { boundedRecords } from "./bounded_records.ts";

/** One request as the audit saw it. */
export interface AuditRequest {
  /** RFC 3339 UTC with milliseconds, when the connection ended. */
  readonly time: string;
  /** "4", "4a" or "5"; null when the client spoke no SOCKS the audit could read. */
  readonly version: "4" | "4a" | "5" | null;
  /** "connect", "bind", "udp-associate", "resolve" ...; null when no request was read. */
  readonly command: string | null;
  /** The destination as sent, `host:port` (IPv6 in brackets); null when no request was read. */
  readonly address: string | null;
  /** The destination host as sent, without brackets; null when no request was read. */
  readonly host: string | null;
  /** The destination port; null when no request was read. */
  readonly port: number | null;
  /** How the destination arrived: a name for the proxy (`domain`) or an address the client resolved (or mapped). */
  readonly addressType: RecordAddressType | null;
  /** "userid" (SOCKS4), "no-auth" or "username-password" (SOCKS5); null when none was agreed. */
  readonly method: "userid" | "no-auth" | "username-password" | null;
  /** The SOCKS4 USERID or the SOCKS5 username as sent (never a password); null when none. */
  readonly userId: string | null;
  /** "page" when the audit page was served, otherwise what the proxy answered ("refused", "not-allowed" ...). */
  readonly outcome: string;
  /** Details when the request failed. */
  readonly error: string | null;
}

/** A running audit listener. */
export interface RecordingProxy {
  readonly address: Endpoint;
  /** The finished connections so far, as many as the audit keeps (lib/audit/bounded_records.ts). */
  readonly requests: readonly AuditRequest[];
  /** How many finished connections were not kept (a flood). */
  readonly requestsDropped: number;
  /** Connections not finished yet. */
  readonly activeConnections: number;
  /** Stops; open connections are closed at once (and recorded). */
  close(): Promise<void>;
}

/** The Network the audit's server runs on: it listens once (its own port) and reaches only the audit page. */
function auditNetwork(inner: Network, site: AuditSite): Network & { started(): void } {
  let listening = true;
  const nothing = (what: string) =>
    Promise.reject(new SocksError("not-allowed", `the audit forwards nothing (${what})`));
  return {
    started: () => (listening = false),
    listen: (options, onConnection) => listening ? inner.listen(options, onConnection) : nothing("BIND"),
    connect: ({ hostname, port }) => {
      if ((hostname === site.ipv4 || hostname === site.ipv6) && port === site.port) {
        return Promise.resolve(pageConnection({ hostname, port }));
      }
      return Promise.reject(new SocksError("connection-refused", `the audit forwards nothing (${hostname}:${port})`));
    },
    // The audit's own resolution of its site: the program's lookups go to the DNS responder, never here.
    resolve: (name) =>
      isAuditHost(site, name)
        ? Promise.resolve([site.ipv4])
        : Promise.reject(new SocksError("not-allowed", `the audit forwards nothing (${name})`)),
    reverse: () => Promise.reject(new SocksError("host-unreachable", "the audit resolves nothing")),
    bindUdp: () => nothing("UDP ASSOCIATE"),
  };
}

/**
 * Starts the audit listener on `listen` (default 127.0.0.1, a free port).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNetwork } from "../runtime/detect.ts";
 * import { newAuditSite } from "./audit_site.ts";
 * import { startRecordingProxy } from "./recording_proxy.ts";
 * const proxy = await startRecordingProxy(await defaultNetwork(), newAuditSite());
 * assert.equal(proxy.address.hostname, "127.0.0.1");
 * assert.deepEqual(proxy.requests, []);
 * await proxy.close();
 * ```
 */
export async function startRecordingProxy(
  network: Network,
  site: AuditSite,
  listen: Endpoint = { hostname: "127.0.0.1", port: 0 },
): Promise<RecordingProxy> {
  const requests = boundedRecords<AuditRequest>();
  // Which method each client agreed on, keyed by the client as its record names it.
  const methods = new Map<string, AuditRequest["method"]>();
  const remember = (authenticator: Authenticator, method: AuditRequest["method"]): Authenticator => ({
    method: authenticator.method,
    authenticate: (context) => {
      methods.set(formatHostPort(endpointToHostPort(context.client)), method);
      return authenticator.authenticate(context);
    },
  });
  const outbound = auditNetwork(network, site);
  const server = await startServer({
    listen: [listen],
    network: outbound,
    // A SOCKS audit: a client speaking HTTP to it is recorded as not SOCKS and closed unanswered.
    protocols: ["socks4", "socks5"],
    // Username/password first: a client that offers it is asked for its username (Tor Browser's isolation).
    // noAuth itself (not wrapped): the server lets SOCKS4 in only beside the very no-auth method.
    authenticators: [remember(anyCredentialsAuthenticator, "username-password"), noAuth],
    onConnectionEnd: (record) => {
      const method = methods.get(record.client) ?? null;
      methods.delete(record.client);
      const request = auditRequest(record, site, method);
      requests.add(request, aboutSite(site, request));
    },
  });
  outbound.started();
  return {
    address: server.addresses[0],
    requests: requests.items,
    get requestsDropped() {
      return requests.dropped;
    },
    get activeConnections() {
      return server.activeConnections;
    },
    close: () => server.close(0),
  };
}

/** True when a request names the audit site or carries an address the audit's DNS handed out for it. */
function aboutSite(site: AuditSite, request: AuditRequest): boolean {
  return request.host !== null &&
    (isAuditHost(site, request.host) || request.host === site.ipv4 || request.host === site.ipv6);
}

function auditRequest(record: ConnectionRecord, site: AuditSite, agreed: AuditRequest["method"]): AuditRequest {
  // SOCKS5 without a username/password exchange that got as far as a request agreed on no-auth.
  const method = record.version === "4" || record.version === "4a"
    ? "userid"
    : agreed ?? (record.command !== undefined ? "no-auth" : null);
  const served = record.outcome === "ok" && record.command === "connect" && record.reply !== undefined &&
    (record.addressType === "domain"
      ? isAuditHost(site, record.destinationHost ?? "")
      : record.destinationHost === site.ipv4 || record.destinationHost === site.ipv6);
  return {
    time: record.time ?? new Date().toISOString(),
    version: record.version ?? null,
    command: record.command ?? null,
    address: record.destination ?? null,
    host: record.destinationHost ?? null,
    port: record.destinationPort ?? null,
    addressType: record.addressType ?? null,
    method: method ?? null,
    userId: record.userId ?? record.label ?? record.user ?? null,
    outcome: served ? "page" : record.outcome,
    error: record.error ?? null,
  };
}
