/**
 * node:http and node:https agents whose connections go through a SOCKS chain: `createConnection` opens a tabi
 * tunnel (names passed on unresolved with socks5h/socks4a) and hands the HTTP client a Duplex over it, with TLS
 * from `tls.connect({ socket })` for https, checked against the request's host name. Destinations that the chooser
 * sends direct take the agents' own connection code. Used by the environment preload (env.ts) in Node, Bun and Deno's node:http;
 * a program may also pass one as `agent`.
 *
 * The agents do not keep connections alive: an idle kept tunnel would hold the process open (a tunnel's socket
 * cannot be unref'd from here), and a script that ends on its own must still end.
 *
 * @module
 */
import http from "node:http";
import https from "node:https";
import { Duplex } from "node:stream";
import tls from "node:tls";
import type { Tunnel } from "../../client/tunnel.ts";

/** Opens a tunnel to `host:port` through the chain the environment names for `url`, or says to go direct. */
export type TunnelOpener = (url: string, host: string, port: number) => Promise<Tunnel> | undefined;

type Callback = (error: Error | null, socket?: Duplex) => void;
type ConnectionOptions =
  & { host?: string; hostname?: string; port?: number | string; servername?: string }
  & Record<
    string,
    unknown
  >;

/** A Duplex over a tunnel's byte streams, with the socket methods the HTTP client calls (no-ops where no socket). */
class TunnelSocket extends Duplex {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #tunnel: Tunnel;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timeout = 0;
  /** The tunnel's far end as the HTTP client may log it. */
  readonly remoteAddress: string;
  /** The destination port. */
  readonly remotePort: number;
  readonly connecting = false;

  constructor(tunnel: Tunnel, host: string, port: number) {
    super({ allowHalfOpen: true });
    this.#tunnel = tunnel;
    this.#reader = tunnel.readable.getReader();
    this.#writer = tunnel.writable.getWriter();
    this.remoteAddress = host;
    this.remotePort = port;
  }

  override _read(): void {
    this.#reader.read().then(({ done, value }) => {
      this.#activity();
      this.push(done ? null : value);
    }, (error) => this.destroy(error));
  }

  override _write(chunk: Uint8Array, _encoding: string, callback: (error?: Error | null) => void): void {
    this.#activity();
    this.#writer.write(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#writer.close().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#reader.cancel(error ?? undefined).catch(() => {});
    this.#writer.abort(error ?? undefined).catch(() => {});
    this.#tunnel.close();
    callback(error);
  }

  /** As net.Socket's: emits `timeout` after `ms` of inactivity (0 turns it off). */
  setTimeout(ms: number, callback?: () => void): this {
    this.#timeout = ms;
    if (callback !== undefined) this.once("timeout", callback);
    this.#activity();
    return this;
  }

  #activity(): void {
    clearTimeout(this.#timer);
    if (this.#timeout > 0) this.#timer = setTimeout(() => this.emit("timeout"), this.#timeout);
  }

  /** No Nagle to turn off on a tunnel's streams. */
  setNoDelay(): this {
    return this;
  }

  /** Keep-alive probes belong to the socket under the tunnel. */
  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

function target(options: ConnectionOptions, secure: boolean): { url: string; host: string; port: number } {
  const host = String(options.host ?? options.hostname ?? "localhost").replace(/^\[|\]$/g, "");
  const port = Number(options.port ?? (secure ? 443 : 80));
  const shown = host.includes(":") ? `[${host}]` : host;
  return { url: `${secure ? "https" : "http"}://${shown}:${port}/`, host, port };
}

/**
 * An http.Agent (or https.Agent when `secure`) whose connections go through the tunnels `open` gives, direct
 * where it gives none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import http from "node:http";
 * import { tunnelAgent } from "./http_agent.ts";
 * // An opener that sends everything direct: the agent is a plain one.
 * const agent = tunnelAgent(false, () => undefined);
 * assert.ok(agent instanceof http.Agent);
 * agent.destroy();
 * ```
 */
export function tunnelAgent(secure: boolean, open: TunnelOpener): http.Agent {
  const agent = secure ? new https.Agent({ keepAlive: false }) : new http.Agent({ keepAlive: false });
  const direct = (secure ? https.Agent.prototype : http.Agent.prototype) as unknown as {
    createConnection(options: ConnectionOptions, callback: Callback): Duplex | undefined;
  };
  Object.assign(agent, {
    createConnection(options: ConnectionOptions, callback: Callback): Duplex | undefined {
      const { url, host, port } = target(options, secure);
      const opening = open(url, host, port);
      if (opening === undefined) return direct.createConnection.call(agent, options, callback);
      opening.then((tunnel) => {
        const socket = new TunnelSocket(tunnel, host, port);
        if (!secure) return callback(null, socket);
        // TLS inside the tunnel, with the request's own TLS options (servername, ca, rejectUnauthorized, ...).
        callback(null, tls.connect({ ...options, socket } as tls.ConnectionOptions));
      }, (error) => callback(error instanceof Error ? error : new Error(String(error))));
      return undefined;
    },
  });
  return agent;
}
