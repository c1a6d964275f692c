/**
 * The contract of a TLS client over an open byte stream, which the tunnel fetch takes from its edge: a tunnel is
 * a pair of WHATWG byte streams, and the runtimes' own TLS APIs want a socket of theirs. The runtime edge supplies
 * one (node:tls over a Duplex in Deno, Bun and Node: lib/runtime/shared/stream_tls.ts); a connection that starts TLS
 * in place (Cloudflare's `startTls()`, through `Tunnel.startTls`) needs none.
 *
 * @module
 */
import type { StartTlsOptions, TlsStreams } from "../../net/network.ts";

/** An open byte-stream pair a TLS session can run over: a tunnel's. */
export interface ByteStreams {
  /** Bytes from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. */
  readonly writable: WritableStream<Uint8Array>;
}

/**
 * Starts a TLS client session over `streams` (taking both over), checking the server's certificate against
 * `options.serverName` and the runtime's trust store plus `options.ca`; resolves once the handshake is done.
 */
export type StreamTls = (streams: ByteStreams, options: StartTlsOptions) => Promise<TlsStreams>;
