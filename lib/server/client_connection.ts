/**
 * An accepted connection as the dispatcher hands it to the SOCKS or the HTTP session: the client's streams and
 * address, the handshake deadline that runs from accept, and the one way the connection ends (closed, its admission
 * released). Whichever session takes the connection over ends it; the dispatcher ends it only when it fails first.
 *
 * @module
 */
import type { ByteSink } from "../io/byte_sink.ts";
import { afterTimeout } from "../time/deadline.ts";
import type { ByteReader } from "../io/byte_reader.ts";
import { connectionReader, connectionWriter } from "../net/direct_io.ts";
import type { Connection } from "../net/network.ts";
import { formatEndpoint } from "../net/endpoint.ts";
import type { ServerConfig } from "./config.ts";
import type { ConnectionRecord } from "./connection_record.ts";
import type { AdmissionControl } from "./limits.ts";

/**
 * One accepted connection from accept to close. A class, so that every connection shares its methods (an idle
 * tunnel keeps one of these alive: its size is per-tunnel memory).
 */
export class ClientConnection {
  /** The connection; behind a trusted balancer, seen as coming from the client the PROXY header named. */
  connection: Connection;
  /** Reads the client's bytes; a GSS-API channel (RFC 1961) replaces it with one over the protected stream. */
  reader: ByteReader;
  /** Writes to the client; undefined once a command took the client's streams over. */
  writer: ByteSink | undefined;
  /** The client's address as the log writes it. */
  client: string;
  /** When the connection was accepted (ms since the epoch). */
  readonly started: number;
  readonly config: ServerConfig;
  /** Aborted when the server stops for good. */
  readonly signal: AbortSignal;
  readonly admission: AdmissionControl;
  /** True once the handshake deadline fired (and closed the connection). */
  timedOut = false;
  /** True once a complete request was read (the handshake is over). */
  handshakeFinished = false;
  /** The address the admission counted this connection under; undefined while a balancer's client is unnamed. */
  admittedAs: string | undefined;
  readonly #accepted: Connection;
  readonly #ended: (accepted: Connection) => void;
  #cancelDeadline: () => void;

  constructor(
    accepted: Connection,
    config: ServerConfig,
    signal: AbortSignal,
    admission: AdmissionControl,
    admittedAs: string | undefined,
    ended: (accepted: Connection) => void,
  ) {
    this.started = Date.now();
    this.connection = accepted;
    this.#accepted = accepted;
    this.#ended = ended;
    this.config = config;
    this.signal = signal;
    this.admission = admission;
    this.admittedAs = admittedAs;
    this.client = formatEndpoint(accepted.remoteAddress);
    // The socket itself where the adapter reads and writes it directly; its streams otherwise (net/direct_io.ts).
    this.reader = connectionReader(accepted);
    this.writer = connectionWriter(accepted);
    // From accept to a complete request (SOCKS), or to the first request head (HTTP, which then times each head).
    this.#cancelDeadline = afterTimeout(config.handshakeTimeoutMs, () => {
      this.timedOut = true;
      this.connection.close();
    });
  }

  /** Stops the handshake deadline (the HTTP side runs its own per request head). */
  cancelDeadline(): void {
    this.#cancelDeadline();
  }

  /** The handshake is over: the deadline stops, the admission and /metrics count it. Once only. */
  handshakeDone(): void {
    if (this.handshakeFinished) return;
    this.#cancelDeadline();
    this.handshakeFinished = true;
    this.admission.handshakeDone();
    this.config.metrics.handshake((Date.now() - this.started) / 1000);
  }

  /**
   * Closes the connection, releases its admission and tells the server it ended. The session that owns the
   * connection calls it once.
   */
  end(): void {
    this.#cancelDeadline();
    this.connection.close();
    this.admission.release(this.admittedAs, this.handshakeFinished);
    this.#ended(this.#accepted);
  }

  /**
   * Hands a finished record, timed from `since` (accept by default), to the log and /metrics; a logger that throws
   * must not take the server down.
   */
  log(record: ConnectionRecord, since: number = this.started): void {
    record.durationMs = Date.now() - since;
    record.time = new Date().toISOString();
    const tls = this.connection.tlsProtocol;
    if (tls !== undefined) record.tls = tls;
    try {
      this.config.onConnectionEnd(record);
    } catch {
      // Nothing to do: the record is lost, the server goes on.
    }
  }
}
