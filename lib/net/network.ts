/**
 * The Network interface the protocol core is written against. Runtime adapters in lib/runtime/ implement it; the
 * core never touches a runtime API itself, so it also runs on an in-memory Network in tests.
 *
 * @module
 */
import type { NativeSocket } from "./native_relay.ts";
import type { ByteSink } from "../io/byte_sink.ts";
// The writer type `Connection.sink` returns, for whoever implements or calls it through this contract.
export type { ByteSink } from "../io/byte_sink.ts";

/** An IP endpoint: `hostname` is always an IP literal (no brackets), never a name. */
export interface Endpoint {
  /** An IP literal (IPv6 without brackets). */
  readonly hostname: string;
  /** The port, 0-65535. */
  readonly port: number;
}

/**
 * A TCP connection as a pair of byte streams. Closing `writable` sends FIN (half-close) and keeps `readable` open;
 * `close()` ends both directions at once.
 */
export interface Connection {
  /** Bytes from the peer; ends at the peer's FIN. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer; closing it sends FIN and keeps `readable` open (half-close). */
  readonly writable: WritableStream<Uint8Array>;
  /** This end's address. */
  readonly localAddress: Endpoint;
  /** The peer's address. */
  readonly remoteAddress: Endpoint;
  /** Closes both directions now; safe to call more than once. */
  close(): void;
  /**
   * Aborts the connection: the peer sees a reset (RST), not an end of stream, where the runtime allows it (Node
   * and Bun; Deno cannot set SO_LINGER, so there it is {@link Connection.close}). Passing a reset on this way keeps
   * an aborted transfer from looking complete. Safe to call more than once, and after `close()`.
   */
  reset?(): void;
  /**
   * Present when the adapter can relay this connection natively with another of its own (see native_relay.ts);
   * {@link relay} uses it when both ends have it, no lock or queued byte is in the way, and it is not turned off.
   */
  readonly native?: NativeSocket;
  /**
   * Present where the adapter owns a real socket and reads it itself, without WHATWG streams: the connection is then
   * a ByteSource (io/byte_source.ts) that a ByteReader reads directly, the handshake's fast path. `readable`, made on
   * first use, starts where these reads stopped; once it was asked for, `read` must not be called again.
   */
  read?(into?: Uint8Array): Promise<Uint8Array | undefined>;
  /** With `read`: true where it fills the array it is given, false where it hands over arrays of its own. */
  readonly readsInto?: boolean;
  /**
   * Present with `read`: a writer of the socket without `writable` (io/byte_sink.ts). A connection written through
   * it is not written through `writable`, and the other way round; a native relay may follow either.
   */
  sink?(): ByteSink;
  /**
   * Present where the adapter can turn this connection into a TLS client in place (Cloudflare's `startTls()`): used
   * for TLS to a destination through a tunnel whose bytes ride on this connection. The plaintext streams must not be
   * used afterwards. Adapters without it leave TLS to a stream-level TLS client.
   */
  startTls?(options: StartTlsOptions): Promise<TlsStreams>;
  /**
   * Present where the adapter can run a TLS server session over this connection after its first bytes were read
   * (the dispatcher saw a TLS handshake record, 0x16, RFC 8446 section 5.1): `released` is the connection's own
   * readable, unlocked, with the bytes already read from it; the connection's writable must be unlocked too. The
   * session's streams replace the connection's; closing the session closes the connection.
   */
  upgradeToTlsServer?(settings: TlsServerSettings, released: ReleasedBytes): Promise<TlsServerSession>;
  /** The TLS version negotiated (`"TLSv1.3"`), on a connection that is a TLS server session's plaintext side. */
  readonly tlsProtocol?: string;
}

/** What a TLS server offers: one certificate chain and its key, as PEM text. */
export interface TlsServerSettings {
  /** The certificate, then any intermediates (a chain file), PEM. */
  readonly cert: string;
  /** The private key of the first certificate (RSA or ECDSA), PEM. */
  readonly key: string;
}

/** A readable already read from: the bytes taken out of it first, then the stream itself (unlocked). */
export interface ReleasedBytes {
  /** Bytes read from `readable` and not consumed; they come first. */
  readonly leftover: Uint8Array;
  /** The rest of the stream, unlocked. */
  readonly readable: ReadableStream<Uint8Array>;
}

/** The plaintext side of an established TLS server session. */
export interface TlsServerSession extends TlsStreams {
  /** The TLS version negotiated, as OpenSSL names it (`"TLSv1.2"`, `"TLSv1.3"`). */
  readonly protocol: string;
}

/** What a TLS client started over an open byte stream checks and offers. */
export interface StartTlsOptions {
  /** The name the server's certificate must carry; also sent as SNI (never the proxy's name). */
  readonly serverName: string;
  /** PEM text of CA certificates to trust besides the runtime's own store. */
  readonly ca?: string;
  /** ALPN protocol names to offer, e.g. `["http/1.1"]`. */
  readonly alpn?: readonly string[];
}

/**
 * A TLS client over an open byte-stream pair (taking both over), checking the server's certificate against
 * `options.serverName` and the runtime's trust store plus `options.ca`; resolves once the handshake is done. What
 * a runtime edge supplies where connections cannot {@link Connection.startTls} in place, or where the TLS runs
 * inside a tunnel (lib/runtime/shared/stream_tls.ts in Deno, Bun and Node).
 */
export type StreamTlsClient = (
  streams: { readonly readable: ReadableStream<Uint8Array>; readonly writable: WritableStream<Uint8Array> },
  options: StartTlsOptions,
) => Promise<TlsStreams>;

/** The byte streams of a TLS client session. */
export interface TlsStreams {
  /** Decrypted bytes from the server. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to encrypt and send; closing it sends close_notify and a FIN. */
  readonly writable: WritableStream<Uint8Array>;
  /** Ends both directions now; safe to call more than once. */
  close(): void;
}

/** Where and how to open an outbound TCP connection. */
export interface ConnectOptions {
  /** An IP literal; resolution is the caller's job, so that rules see the address. */
  readonly hostname: string;
  /** The port to connect to. */
  readonly port: number;
  /** Aborting gives up the attempt (a timeout, a closed client). */
  readonly signal?: AbortSignal;
  /**
   * The attempt races others (Happy Eyeballs, RFC 8305) and is likely to be given up while its SYN is unanswered:
   * an adapter whose own connect cannot be cancelled (Bun's `Bun.connect`) opens this one in a way that can, so
   * that the loser's socket is closed at once instead of lingering in SYN-SENT until the kernel gives up.
   */
  readonly raced?: boolean;
  /**
   * The source address to connect from (the server's outbound address): an IP literal of the destination's family,
   * on this machine. Absent: the system picks. Every adapter honours it: Node's and Bun's own connect take it
   * (`localAddress`); Deno's `Deno.connect` has none, so Deno's adapter opens such a connection with `node:net`.
   */
  readonly localAddress?: string;
}

/** Where to listen. Port 0 picks a free port. */
export interface ListenOptions {
  /** The IP literal to listen on (`0.0.0.0` or `::` for every address). */
  readonly hostname: string;
  /** The port; 0 asks the system for a free one (see `Listener.address`). */
  readonly port: number;
  /**
   * Share the port with other processes that ask for it too (SO_REUSEPORT; the kernel spreads connections over
   * them). TCP only; Deno needs `--unstable-net` for it.
   */
  readonly reusePort?: boolean;
  /**
   * Told when accepting fails for want of file descriptors (EMFILE, ENFILE): the listener backs off and keeps
   * serving, and calls this at most once per {@link ACCEPT_REPORT_INTERVAL_MS} while the shortage lasts.
   */
  readonly onAcceptError?: (error: Error) => void;
}

/** How often a listener reports at most that it cannot accept for want of file descriptors. */
export const ACCEPT_REPORT_INTERVAL_MS = 10_000;

/** A listening TCP socket. */
export interface Listener {
  /** Where it listens, with the real port when 0 was asked for. */
  readonly address: Endpoint;
  /** Stops accepting; resolves once the port refuses connections. Connections already accepted stay open. */
  close(): Promise<void>;
}

/** A datagram and where it came from. */
export interface Datagram {
  /** The payload. */
  readonly data: Uint8Array;
  /** The sender. */
  readonly from: Endpoint;
}

/** A bound UDP socket. */
export interface UdpSocket {
  /** The address the socket is bound to. */
  readonly address: Endpoint;
  /** Sends one datagram; errors (e.g. unreachable) are reported by the returned promise. */
  send(data: Uint8Array, to: Endpoint): Promise<void>;
  /** Closes the socket; safe to call more than once. */
  close(): void;
}

/** The runtime services the core needs. Errors are SocksErrors with a network code (see net_error.ts). */
export interface Network {
  /** Opens a TCP connection. */
  connect(options: ConnectOptions): Promise<Connection>;
  /** Listens for TCP connections, handing each to `onConnection`. */
  listen(options: ListenOptions, onConnection: (connection: Connection) => void): Promise<Listener>;
  /** Binds a UDP socket, handing each datagram to `onDatagram`. */
  bindUdp(options: ListenOptions, onDatagram: (datagram: Datagram) => void): Promise<UdpSocket>;
  /** Resolves a name to IP literals, the system's way (hosts file included). */
  resolve(hostname: string): Promise<string[]>;
  /** Finds the name of an IP address, the system's way (hosts file included). */
  reverse(address: string): Promise<string>;
}
