/**
 * A SOCKS4/4a/5 server: one port speaks every version. Safe by default: 127.0.0.1:1080, and a non-loopback
 * address without authentication is refused unless `allowOpen` says otherwise.
 *
 * @module
 */
import { setMaxListeners } from "node:events";
import type { Connection, Endpoint, Listener, Network } from "../net.ts";
import { requireNetwork } from "../require_network.ts";
import { SocksError } from "../wire/socks_error.ts";
import { noAuth, userPassAuthenticator } from "./auth.ts";
import {
  DEFAULT_LISTEN,
  DEFAULT_TIMEOUTS,
  PROTECTED_WHEN_EXPOSED,
  type ServerConfig,
  type ServerOptions,
} from "./config.ts";
import { parseCidr } from "../cidr.ts";
import { formatEndpoint, isLoopback } from "../endpoint.ts";
import { AdmissionControl, DEFAULT_LIMITS, type Limits } from "./limits.ts";
import { validateRules } from "./rules.ts";
import { serveConnection } from "./session.ts";
import { resolveIdent } from "./ident_check.ts";
import { UdpReassemblyQueue } from "../wire/socks5_udp_fragments.ts";

/** A running server. */
export interface SocksServer {
  /** The addresses it listens on (with the real port when 0 was asked for). */
  readonly addresses: readonly Endpoint[];
  /** Connections being served now. */
  readonly activeConnections: number;
  /** The admission limits in force (defaults filled in). */
  readonly limits: Limits;
  /**
   * Stops accepting, lets open connections finish for `graceMs` (default 0), then closes the rest. Resolves when
   * every connection has ended.
   */
  close(graceMs?: number): Promise<void>;
}

/** Fills in every default and checks the options; throws a SocksError that says what is wrong. */
export function resolveConfig(options: ServerOptions): ServerConfig {
  const users = options.users && options.users.size > 0 ? options.users : undefined;
  const authenticators = options.authenticators ?? (users ? [userPassAuthenticator(users)] : [noAuth]);
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
  for (
    const [name, value] of Object.entries({
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      udpIdleTimeoutMs: options.udpIdleTimeoutMs,
    })
  ) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new SocksError("bad-field", `${name} must be a number of milliseconds >= 0, not ${value}`);
    }
  }
  return {
    network: requireNetwork(options.network, "startServer"),
    authenticators,
    socks4Users: users,
    socks4: authenticators.includes(noAuth) ? "open" : users && options.allowSocks4UserId ? "userid" : "refused",
    rules,
    protectedDestinations,
    protectedRanges,
    resolveExtension: options.resolveExtension ?? false,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_TIMEOUTS.handshakeMs,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectMs,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_TIMEOUTS.idleMs,
    udpIdleTimeoutMs: options.udpIdleTimeoutMs ?? DEFAULT_TIMEOUTS.udpIdleMs,
    udpReassembly: options.udpReassembly ?? false,
    ident: resolveIdent(options.ident),
    udpReassemblyTimeoutMs: new UdpReassemblyQueue({ timeoutMs: options.udpReassemblyTimeoutMs }).timeoutMs,
    externalAddress: options.externalAddress,
    onConnectionEnd: options.onConnectionEnd ?? (() => {}),
    limits: resolveLimits(options.limits),
    onLimit: options.onLimit ?? (() => {}),
  };
}

function listenAddresses(options: ServerOptions): readonly { readonly hostname: string; readonly port: number }[] {
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

/**
 * Starts a server on the given Network. The package root's `startServer` fills in the running runtime's Network;
 * this one, the core's, needs it named.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNetwork } from "../runtime/detect.ts";
 * import { startServer } from "./server.ts";
 * const network = await defaultNetwork();
 * const server = await startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }], network });
 * assert.ok(server.addresses[0].port > 0);
 * await server.close();
 * ```
 */
export async function startServer(options: ServerOptions & { readonly network: Network }): Promise<SocksServer> {
  const config = resolveConfig(options);
  const listen = listenAddresses(options);
  const anonymous = config.authenticators.some((a) => a === noAuth);
  const open = listen.filter((l) => !isLoopback(l.hostname));
  if (anonymous && open.length > 0 && !options.allowOpen) {
    const where = open.map((l) => formatEndpoint(l)).join(", ");
    throw new SocksError(
      "not-allowed",
      `refusing to listen on ${where} without authentication: anyone who reaches it could use this proxy. ` +
        `Add users (--user NAME:PASSWORD) or pass --allow-open to insist.`,
    );
  }
  const stopAll = new AbortController();
  // Every open tunnel listens for the server's stop: Node would warn of a leak past 10 listeners on one signal.
  setMaxListeners(0, stopAll.signal);
  const active = new Set<Connection>();
  let drained: (() => void) | undefined;
  const admission = new AdmissionControl(config.limits, config.onLimit);
  const onConnection = (connection: Connection) => {
    // Over a limit: closed at once, no byte read (the refusal is counted, and reported once per interval).
    if (admission.admit(connection.remoteAddress.hostname) !== undefined) return connection.close();
    active.add(connection);
    serveConnection(connection, config, stopAll.signal, admission).finally(() => {
      active.delete(connection);
      if (active.size === 0) drained?.();
    });
  };
  const listeners: Listener[] = [];
  try {
    for (const l of listen) listeners.push(await config.network.listen(l, onConnection));
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close()));
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    addresses: listeners.map((l) => l.address),
    limits: config.limits,
    get activeConnections() {
      return active.size;
    },
    close(graceMs = 0) {
      closing ??= (async () => {
        await Promise.all(listeners.map((l) => l.close()));
        const allDone = () => active.size === 0 ? Promise.resolve() : new Promise<void>((r) => (drained = r));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
        await Promise.race([allDone(), grace]);
        clearTimeout(timer);
        stopAll.abort(new SocksError("aborted", "server stopped"));
        for (const connection of active) connection.close();
        await allDone();
        admission.close();
      })();
      return closing;
    },
  };
}
