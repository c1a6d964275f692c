/**
 * Networks that wrap another one's Connections, to run the same server over the handshake's two paths: one that
 * hides the direct reads and writes (`read`, `readsInto`, `sink`; io/byte_source.ts), so that the server reads and
 * writes the WHATWG streams as it does on a custom Network; and one that keeps them and only counts. Both count, per
 * connection, how often `readable`, `writable`, `read` and `sink` were used, so that a test can say which path ran.
 * `native` is passed through: the native relay still works under either.
 */
import type {
  Connection,
  Endpoint,
  Network,
  ReleasedBytes,
  TlsServerSession,
  TlsServerSettings,
} from "../../lib/net/network.ts";
import type { NativeSocket } from "../../lib/net/native_relay.ts";
import type { ByteSink } from "../../lib/io/byte_sink.ts";

/** How a wrapped connection was used. */
export interface ConnectionUse {
  /** "accepted" (from listen) or "connected" (from connect). */
  readonly side: "accepted" | "connected";
  /** Gets of `readable` and `writable`. */
  readable: number;
  writable: number;
  /** Calls of `read` and `sink` (always 0 where they are hidden). */
  reads: number;
  sinks: number;
}

/** A Network whose Connections are wrapped, and what was done with each of them, in the order they came. */
export interface WrappedNetwork extends Network {
  readonly uses: ConnectionUse[];
}

/** Forwards everything but the direct reads and writes; counts the streams' use. */
class StreamsOnlyConnection implements Connection {
  readonly inner: Connection;
  readonly use: ConnectionUse;

  constructor(inner: Connection, use: ConnectionUse) {
    this.inner = inner;
    this.use = use;
  }

  get readable(): ReadableStream<Uint8Array> {
    this.use.readable++;
    return this.inner.readable;
  }

  get writable(): WritableStream<Uint8Array> {
    this.use.writable++;
    return this.inner.writable;
  }

  get localAddress(): Endpoint {
    return this.inner.localAddress;
  }

  get remoteAddress(): Endpoint {
    return this.inner.remoteAddress;
  }

  get native(): NativeSocket | undefined {
    return this.inner.native;
  }

  get tlsProtocol(): string | undefined {
    return this.inner.tlsProtocol;
  }

  close(): void {
    this.inner.close();
  }

  reset(): void {
    (this.inner.reset ?? this.inner.close).call(this.inner);
  }

  upgradeToTlsServer(settings: TlsServerSettings, released: ReleasedBytes): Promise<TlsServerSession> {
    if (this.inner.upgradeToTlsServer === undefined) {
      return Promise.reject(new Error("the wrapped connection cannot upgrade to TLS"));
    }
    return this.inner.upgradeToTlsServer(settings, released);
  }
}

/** The same, with the direct reads and writes kept (and counted). */
class DirectSpyConnection extends StreamsOnlyConnection {
  get readsInto(): boolean | undefined {
    return this.inner.readsInto;
  }

  read(into?: Uint8Array): Promise<Uint8Array | undefined> {
    this.use.reads++;
    return this.inner.read!(into);
  }

  sink(): ByteSink {
    this.use.sinks++;
    return this.inner.sink!();
  }
}

function wrapped(inner: Network, wrap: (connection: Connection, use: ConnectionUse) => Connection): WrappedNetwork {
  const uses: ConnectionUse[] = [];
  const track = (connection: Connection, side: ConnectionUse["side"]) => {
    const use: ConnectionUse = { side, readable: 0, writable: 0, reads: 0, sinks: 0 };
    uses.push(use);
    return wrap(connection, use);
  };
  return {
    uses,
    connect: async (options) => track(await inner.connect(options), "connected"),
    listen: (options, onConnection) =>
      inner.listen(options, (connection) => onConnection(track(connection, "accepted"))),
    bindUdp: (options, onDatagram) => inner.bindUdp(options, onDatagram),
    resolve: (hostname) => inner.resolve(hostname),
    reverse: (address) => inner.reverse(address),
  };
}

/**
 * `inner` with `read`, `readsInto` and `sink` hidden from every Connection it accepts or opens: whoever uses them
 * goes through `readable` and `writable`, the streams path.
 */
export function streamsOnly(inner: Network): WrappedNetwork {
  return wrapped(inner, (connection, use) => new StreamsOnlyConnection(connection, use));
}

/**
 * `inner` as it is, except that its Connections are counted: where the adapter reads directly, they keep `read`
 * and `sink` (the direct path); where it does not (the in-memory network), they are streams only.
 */
export function countingNetwork(inner: Network): WrappedNetwork {
  return wrapped(
    inner,
    (connection, use) =>
      connection.read !== undefined && connection.sink !== undefined
        ? new DirectSpyConnection(connection, use)
        : new StreamsOnlyConnection(connection, use),
  );
}
