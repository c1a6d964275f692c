/**
 * A tunnel through one or more proxies: a byte-stream pair ready for TLS or any protocol, with its addresses.
 *
 * @module
 */
import type { Endpoint, StartTlsOptions, TlsStreams } from "../net/network.ts";
import type { HostPort } from "../wire/address.ts";
import type { LastHop } from "./chain.ts";
import { untouchedReadable } from "../io/untouched_readable.ts";
// Moved to lib/io (the chain uses it too, for a TLS hop inside a tunnel); still exported from here.
export { untouchedReadable };

/** An open tunnel. Closing `writable` half-closes it; `close()` ends both directions. */
export interface Tunnel {
  /** Bytes from the destination. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the destination; closing it half-closes the tunnel (FIN), reading goes on. */
  readonly writable: WritableStream<Uint8Array>;
  /** This end of the TCP connection to the first proxy. */
  readonly localAddress: Endpoint;
  /** The first proxy's end. */
  readonly remoteAddress: Endpoint;
  /** What the last proxy replied: its outbound address (CONNECT) or the peer's address (BIND's second reply). */
  readonly bound: HostPort;
  /** Ends both directions at once. */
  close(): void;
  /** Ends both directions at once with a reset (RST) to the first proxy where the runtime can. */
  reset(): void;
  /**
   * Present when the connection to the first proxy can turn itself into a TLS client in place
   * ({@link Connection.startTls}, e.g. Cloudflare's `startTls()`) and the tunnel's bytes ride on it directly (no
   * GSS-API protection, nothing read past the last reply): TLS to the destination, checked against
   * `options.serverName`. `readable` and `writable` must not be used afterwards.
   */
  startTls?(options: StartTlsOptions): Promise<TlsStreams>;
}

/** Turns the last hop into a Tunnel once its final reply is in. */
export function tunnelFrom(hop: LastHop, bound: Tunnel["bound"], signal?: AbortSignal): Tunnel {
  hop.writer.releaseLock();
  const { leftover, readable } = hop.reader.release();
  const { connection } = hop;
  signal?.addEventListener("abort", () => connection.close(), { once: true });
  // In-place TLS wraps the connection itself: only right when the tunnel's bytes are the connection's bytes.
  const inPlace = connection.startTls !== undefined && hop.writable === connection.writable && leftover.length === 0;
  return {
    readable: untouchedReadable(leftover, readable),
    writable: hop.writable,
    localAddress: connection.localAddress,
    remoteAddress: connection.remoteAddress,
    bound,
    close: () => connection.close(),
    reset: () => (connection.reset ?? connection.close).call(connection),
    ...(inPlace ? { startTls: (options: StartTlsOptions) => connection.startTls!(options) } : {}),
  };
}
