/**
 * A SOCKS4/4a/5 and HTTP proxy server: every listen address speaks every SOCKS version and HTTP/1.1 proxying (CONNECT
 * and forwarding), the first byte of a connection deciding (lib/server/dispatch.ts; `protocols` narrows them). Safe by
 * default: 127.0.0.1:1080, and a non-loopback address without authentication is refused unless `allowOpen` says
 * otherwise.
 *
 * @module
 */
import type { Connection, Endpoint, Listener, Network } from "../net/network.ts";
import { SocksError } from "../wire/socks_error.ts";
import { noAuth } from "./auth.ts";
import { MAX_TIMER_MS } from "../time/timer_slots.ts";
import { listenAddresses, resolveConfig, type ServerConfig, type ServerOptions } from "./config.ts";
import { listenFailure } from "./listen_failure.ts";
import { formatEndpoint, isLoopback } from "../net/endpoint.ts";
import { AdmissionControl, type Limits } from "./limits.ts";
import { admitAtAccept, dispatchConnection } from "./dispatch.ts";
import type { MetricsSnapshot } from "./metrics.ts";
import { allowManyListeners } from "../time/listener_limit.ts";

/** A running server. */
export interface SocksServer {
  /** The addresses it listens on (with the real port when 0 was asked for). */
  readonly addresses: readonly Endpoint[];
  /** Connections being served now. */
  readonly activeConnections: number;
  /** The admission limits in force (defaults filled in). */
  readonly limits: Limits;
  /** False once {@link SocksServer.close} was called: the server drains and accepts no more. */
  readonly accepting: boolean;
  /** The counters and gauges now, for `/metrics`. */
  metrics(): MetricsSnapshot;
  /**
   * Applies new options to the connections accepted from now on: users, authentication, rules, limits, timeouts,
   * PROXY protocol ranges. Open connections keep what they started with. Listen addresses and the network are
   * kept as they are (they need a restart). Throws a SocksError, and changes nothing, when the options are wrong.
   */
  reload(options: ServerOptions): Promise<void>;
  /**
   * Stops accepting, lets open connections finish for `graceMs` (default 0), then closes the rest. Resolves when
   * every connection has ended (each one's `onConnectionEnd` called). Called again with 0 while a grace runs, it
   * ends the grace at once.
   */
  close(graceMs?: number): Promise<void>;
}

function refuseOpenAnonymous(listen: readonly Endpoint[], config: ServerConfig, allowOpen: boolean): void {
  const anonymous = config.authenticators.some((a) => a === noAuth);
  const open = listen.filter((l) => !isLoopback(l.hostname));
  if (anonymous && open.length > 0 && !allowOpen) {
    const where = open.map((l) => formatEndpoint(l)).join(", ");
    throw new SocksError(
      "not-allowed",
      `refusing to listen on ${where} without authentication: anyone who reaches it could use this proxy. ` +
        `Add users (--user NAME:PASSWORD) or pass --allow-open to insist.`,
    );
  }
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
  let config = resolveConfig(options);
  const listen = listenAddresses(options);
  refuseOpenAnonymous(listen, config, options.allowOpen ?? false);
  await checkOutboundAddresses(config);
  const stopAll = new AbortController();
  // Every open tunnel listens for the server's stop: Node would warn of a leak past 10 listeners on one signal.
  allowManyListeners(stopAll.signal);
  const active = new Set<Connection>();
  let drained: (() => void) | undefined;
  const admission = new AdmissionControl(config.limits, config.onLimit);
  // One callback for every connection's end (no promise chain per connection: an idle tunnel holds none).
  const ended = (connection: Connection) => {
    active.delete(connection);
    if (active.size === 0) drained?.();
  };
  const onConnection = (connection: Connection) => {
    // Over a limit: closed at once, no byte read (the refusal is counted, and reported once per interval).
    if (!admitAtAccept(connection, config, admission)) return connection.close();
    active.add(connection);
    dispatchConnection(connection, config, stopAll.signal, admission, ended);
  };
  const listeners: Listener[] = [];
  for (const l of listen) {
    try {
      const listenOptions = { ...l, reusePort: options.reusePort, onAcceptError: config.onAcceptError };
      listeners.push(await config.network.listen(listenOptions, onConnection));
    } catch (error) {
      await Promise.all(listeners.map((l) => l.close()));
      throw listenFailure(l, error);
    }
  }
  let closing: Promise<void> | undefined;
  // A second close() with no grace (a second SIGINT) ends the grace of the first one now.
  let cutGrace: (() => void) | undefined;
  let cutRequested = false;
  return {
    addresses: listeners.map((l) => l.address),
    get limits() {
      return config.limits;
    },
    get activeConnections() {
      return active.size;
    },
    get accepting() {
      return closing === undefined;
    },
    metrics: () =>
      config.metrics.snapshot({
        active: active.size,
        udpActive: admission.udpAssociations,
        dns: config.nameMap?.counters(),
      }),
    reload(next: ServerOptions) {
      try {
        // Checked whole before anything changes: a wrong option leaves the running configuration as it is.
        // The counters go on across reloads.
        const fresh = resolveConfig({ ...next, network: config.network }, config.metrics, config.usage);
        refuseOpenAnonymous(listeners.map((l) => l.address), fresh, next.allowOpen ?? false);
        config = fresh;
        admission.setLimits(config.limits);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    },
    close(graceMs = 0) {
      if (closing && graceMs === 0) {
        cutRequested = true;
        cutGrace?.();
      }
      closing ??= (async () => {
        await Promise.all(listeners.map((l) => l.close()));
        const allDone = () => active.size === 0 ? Promise.resolve() : new Promise<void>((r) => (drained = r));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise<void>((r) => {
          cutGrace = r;
          timer = setTimeout(r, cutRequested ? 0 : Math.min(graceMs, MAX_TIMER_MS));
        });
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

/**
 * Stops a start whose outbound addresses are not this machine's: each is bound once (a UDP socket on port 0, then
 * closed), which the system refuses for an address it does not have (EADDRNOTAVAIL). Better at start than as a
 * failure of every connection later.
 */
async function checkOutboundAddresses(config: ServerConfig): Promise<void> {
  for (const hostname of [config.outbound?.ipv4, config.outbound?.ipv6]) {
    if (hostname === undefined) continue;
    try {
      (await config.network.bindUdp({ hostname, port: 0 }, () => {})).close();
    } catch (error) {
      throw new SocksError(
        "bad-field",
        `outbound address ${hostname} is not an address of this machine (${(error as Error).message})`,
        { cause: error },
      );
    }
  }
}
