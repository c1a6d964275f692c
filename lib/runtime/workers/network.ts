/**
 * The Cloudflare Workers (workerd) adapter: outbound TCP through `connect()` from `cloudflare:sockets`, whose
 * socket already is a pair of WHATWG byte streams (a BYOB-capable readable, a writable whose `close()` sends a FIN
 * while reading goes on) — what the core is written over, so the streams are handed on as they are. A Worker cannot
 * listen, bind UDP or look names up: those answer SocksError "unsupported" ("not available on Workers").
 *
 * Every socket is opened with `secureTransport: "starttls"`, so that {@link Connection.startTls} can later put TLS to
 * the destination inside a tunnel (`socket.startTls({ expectedServerHostname })`, checked against the destination's
 * name, never the proxy's). Extra CA certificates are the Worker's configuration (workerd's `trustedCertificates`),
 * not a per-connection option.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { workersNetwork } from "./network.ts";
 * // Outside a Worker the network can be made; only its calls need cloudflare:sockets.
 * const network = workersNetwork();
 * await assert.rejects(network.resolve("example.com"), { code: "unsupported" });
 * ```
 *
 * @module
 */
import type {
  Connection,
  ConnectOptions,
  Endpoint,
  Listener,
  ListenOptions,
  Network,
  StartTlsOptions,
  TlsStreams,
  UdpSocket,
} from "../../net/network.ts";
// The Network contract this adapter implements, so that this entry point documents what it returns.
export type * from "../../net/network.ts";
import { ipAddress } from "../../net/endpoint.ts";
import { toSocksError } from "../../net/net_error.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { WORKERS_CA_REFUSAL } from "./fetch_route.ts";

/** The part of a `cloudflare:sockets` Socket this adapter uses. */
interface CloudflareSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly opened: Promise<{ remoteAddress?: string; localAddress?: string }>;
  readonly closed: Promise<void>;
  close(): Promise<void>;
  startTls(options?: { expectedServerHostname?: string }): CloudflareSocket;
}

/** The `cloudflare:sockets` module, as far as this adapter uses it. */
interface CloudflareSockets {
  connect(
    address: { hostname: string; port: number },
    options?: { secureTransport?: "off" | "on" | "starttls"; allowHalfOpen?: boolean },
  ): CloudflareSocket;
}

let sockets: Promise<CloudflareSockets> | undefined;

/** Loads `cloudflare:sockets` once. Dynamic, so that Deno, Bun and Node, which never get here, never resolve it. */
function loadSockets(): Promise<CloudflareSockets> {
  return sockets ??= (async () => {
    try {
      return await import("cloudflare:sockets") as CloudflareSockets;
    } catch (error) {
      sockets = undefined;
      throw new SocksError("unsupported", "cloudflare:sockets is not available: not running in a Cloudflare Worker", {
        cause: error,
      });
    }
  })();
}

function notOnWorkers(what: string): SocksError {
  return new SocksError("unsupported", `${what} is not available on Workers (outbound TCP only)`);
}

/** An address `opened` reports ("203.0.113.5:443", "[2001:db8::1]:443"), or `fallback` if it is not one. */
function parseEndpoint(text: string | undefined, fallback: Endpoint): Endpoint {
  const match = text === undefined ? null : /^\[?([^\]]*?)\]?:(\d+)$/.exec(text);
  if (match === null || ipAddress(match[1]) === undefined) return fallback;
  return { hostname: match[1], port: Number(match[2]) };
}

/** A Workers socket as a {@link Connection}; `startTls` turns it into a TLS client in place. */
class WorkersConnection implements Connection {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly localAddress: Endpoint;
  readonly remoteAddress: Endpoint;
  readonly #socket: CloudflareSocket;
  #closed = false;

  constructor(socket: CloudflareSocket, localAddress: Endpoint, remoteAddress: Endpoint) {
    this.#socket = socket;
    this.readable = socket.readable;
    this.writable = socket.writable;
    this.localAddress = localAddress;
    this.remoteAddress = remoteAddress;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // close() also rejects `closed` for a socket that was never opened: nothing waits on it, so say nothing.
    this.#socket.close().catch(() => {});
  }

  async startTls(options: StartTlsOptions): Promise<TlsStreams> {
    if (options.ca !== undefined) {
      // workerd takes extra CAs for all of a Worker's outbound TLS (trustedCertificates), never per connection.
      throw new SocksError("unsupported", WORKERS_CA_REFUSAL);
    }
    // ALPN cannot be offered through startTls(); a server that gets none speaks HTTP/1.1, the only thing offered.
    let tls: CloudflareSocket;
    try {
      // The plaintext socket must not be used afterwards (the contract says so): its streams now carry the TLS bytes.
      tls = this.#socket.startTls({ expectedServerHostname: options.serverName });
    } catch (error) {
      throw toSocksError(error, `TLS to ${options.serverName}`);
    }
    try {
      // Settles with the handshake, so that a refused certificate is this call's failure, not a later read's.
      await tls.opened;
    } catch (error) {
      tls.close().catch(() => {});
      this.#closed = true;
      // workerd logs the reason and gives the Worker only "internal error; reference = ...".
      throw new SocksError(
        "failed",
        `TLS with ${options.serverName} failed: its certificate is not trusted or not for that name, or it speaks ` +
          `no TLS (workerd's log has the reason)`,
        { cause: error },
      );
    }
    let closed = false;
    return {
      readable: tls.readable,
      writable: tls.writable,
      close: () => {
        if (closed) return;
        closed = true;
        tls.close().catch(() => {});
      },
    };
  }
}

async function connect(options: ConnectOptions): Promise<Connection> {
  const { hostname, port, signal } = options;
  const what = `connect ${hostname}:${port}`;
  if (signal?.aborted) throw toSocksError(signal.reason, what);
  const { connect: open } = await loadSockets();
  let socket: CloudflareSocket;
  try {
    // allowHalfOpen: the peer's FIN must not close our side (a SOCKS tunnel half-closes both ways, RFC 1928 has no
    // say in it but the relay does). starttls: so that TLS can start inside the tunnel later.
    socket = open({ hostname, port }, { secureTransport: "starttls", allowHalfOpen: true });
  } catch (error) {
    throw toSocksError(error, what);
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, fail) => {
    onAbort = () => fail(toSocksError(signal!.reason, what));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const info = await Promise.race([socket.opened, aborted]);
    const remote = parseEndpoint(info.remoteAddress, { hostname, port });
    const family = ipAddress(remote.hostname)?.type === "ipv6" ? "::" : "0.0.0.0";
    // workerd does not say which local address it used: the unspecified one stands for it.
    const local = parseEndpoint(info.localAddress, { hostname: family, port: 0 });
    return new WorkersConnection(socket, local, remote);
  } catch (error) {
    socket.close().catch(() => {});
    throw workersError(error, what);
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * workerd's connect errors carry no errno: a refused port and a forbidden address both say the connection failed
 * ("proxy request failed, cannot connect to the specified address"), so both are "connection-refused".
 */
function workersError(error: unknown, what: string): SocksError {
  if (error instanceof SocksError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/cannot connect|refused|not allowed/i.test(message)) {
    return new SocksError("connection-refused", `${what}: ${message}`, { cause: error });
  }
  return toSocksError(error, what);
}

/**
 * The Network of a Cloudflare Worker: outbound TCP through `cloudflare:sockets`; listening, UDP and name lookups
 * are refused as "unsupported" (a Worker has none of them). An IP literal "resolves" to itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { workersNetwork } from "./network.ts";
 * const network = workersNetwork();
 * assert.deepEqual(await network.resolve("127.0.0.1"), ["127.0.0.1"]);
 * await assert.rejects(network.listen({ hostname: "127.0.0.1", port: 0 }, () => {}), { code: "unsupported" });
 * ```
 */
export function workersNetwork(): Network {
  return {
    connect,
    listen: (_options: ListenOptions): Promise<Listener> => Promise.reject(notOnWorkers("listening")),
    bindUdp: (_options: ListenOptions): Promise<UdpSocket> => Promise.reject(notOnWorkers("UDP")),
    resolve: (hostname: string): Promise<string[]> =>
      ipAddress(hostname) !== undefined
        ? Promise.resolve([hostname])
        : Promise.reject(notOnWorkers(`name resolution (of "${hostname}")`)),
    reverse: (address: string): Promise<string> => Promise.reject(notOnWorkers(`reverse lookup (of ${address})`)),
  };
}
