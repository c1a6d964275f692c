/**
 * The Deno adapter: `Deno.connect`/`Deno.listen` with hand-made byte streams over `conn.read`/`conn.write`.
 * Deno's own `conn.readable`/`conn.writable` close the whole connection at EOF or on close (denoland/deno #22258,
 * #27510), which breaks half-close; here closing the writable calls `closeWrite()` and sends only a FIN.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoNetwork } from "./network.ts";
 * const network = denoNetwork();
 * assert.deepEqual(await network.resolve("::1"), ["::1"]);
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
  ReleasedBytes,
  TlsServerSession,
  TlsServerSettings,
} from "../../net/network.ts";
// The Network contract this adapter implements, so that this entry point documents what it returns.
export type * from "../../net/network.ts";
import { toSocksError } from "../../net/net_error.ts";
import { SocksError } from "../../wire/socks_error.ts";
import { bindUdp } from "../shared/dgram_udp.ts";
import { resolve, reverse } from "../shared/dns_lookup.ts";
import { type DenoConnHooks, DenoNativeSocket } from "./relay.ts";
import { isOutOfFiles, throttledReporter } from "../shared/file_descriptors.ts";
import { formatEndpoint } from "../../net/endpoint.ts";
import { upgradeToTlsServer } from "../shared/tls_upgrade.ts";
import { type ByteSink, SocketSink, type SocketWrites } from "../../io/byte_sink.ts";
import { nodeNetwork } from "../node/network.ts";

const { connect: nodeConnect } = nodeNetwork();

/** How long the accept loop waits after a failed accept (EMFILE and friends) before it tries again. */
const ACCEPT_BACKOFF_MS = 100;

/** The size of the buffer a default reader gets per read; BYOB readers bring their own. */
const AUTO_CHUNK_SIZE = 64 * 1024;

function endpoint(addr: Deno.Addr): Endpoint {
  const { hostname, port } = addr as Deno.NetAddr;
  return { hostname, port };
}

/**
 * Wraps a `Deno.TcpConn` as a {@link Connection} whose writable half-closes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoConnection } from "./network.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = listener.accept();
 * const connection = denoConnection(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * const peer = await accepted;
 * assert.equal(connection.remoteAddress.port, listener.addr.port);
 * const writer = connection.writable.getWriter();
 * await writer.write(new Uint8Array([1, 2, 3]));
 * await writer.close();
 * // The peer sees the bytes, then EOF: closing the writable sent only a FIN.
 * const buffer = new Uint8Array(8);
 * assert.equal(await peer.read(buffer), 3);
 * assert.equal(await peer.read(buffer), null);
 * peer.close();
 * connection.close();
 * listener.close();
 * ```
 */
export function denoConnection(conn: Deno.TcpConn): Connection {
  return new DenoConnection(conn);
}

/**
 * The Connection over one `Deno.TcpConn`. A class, not an object literal of closures: a proxy holds two per tunnel for
 * as long as the tunnel lives, and per-instance getters and closures cost about 2 KB a tunnel on V8.
 */
class DenoConnection implements Connection, DenoConnHooks, SocketWrites {
  readonly conn: Deno.TcpConn;
  readonly native: DenoNativeSocket;
  // read() fills the caller's array (conn.read).
  readonly readsInto = true;
  #sink: SocketSink | undefined;
  #closed = false;
  // What the native relay must know: a read in flight or the end seen means the stream still owns the read side.
  #reading = false;
  #readEnded = false;
  // A failure a direct read saw: the stream made after it fails with it (Linux reports a reset once; a second read
  // would see a clean end, and a cut transfer would look complete).
  #readFailure: SocksError | undefined;
  // The streams are made on first use: the outbound side of a tunnel that the native relay (deno_relay.ts) carries
  // never needs them, and an idle tunnel then holds two stream objects fewer.
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;
  #local: Endpoint | undefined;
  #remote: Endpoint | undefined;

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    try {
      conn.setNoDelay(true);
    } catch {
      // Already closed by the peer: the first read will say so.
    }
    this.native = new DenoNativeSocket(this);
  }

  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= this.#makeReadable();
  }

  /** Reads the connection without a stream (the handshake's fast path): undefined at the peer's FIN. */
  async read(into?: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.#readable !== undefined) throw new SocksError("failed", "read() after the stream was made");
    const buffer = into ?? new Uint8Array(AUTO_CHUNK_SIZE);
    let n: number | null;
    this.#reading = true;
    try {
      n = await this.conn.read(buffer);
    } catch (error) {
      this.#readEnded = true;
      throw this.#readFailure = toSocksError(error, "read");
    } finally {
      this.#reading = false;
    }
    if (n === null) {
      this.#readEnded = true;
      return undefined;
    }
    return buffer.subarray(0, n);
  }

  /** Writes the connection without a stream (the handshake's fast path). */
  sink(): ByteSink {
    return this.#sink ??= new SocketSink(this);
  }

  async writeBytes(chunk: Uint8Array): Promise<void> {
    try {
      for (let done = 0; done < chunk.length;) done += await this.conn.write(chunk.subarray(done));
    } catch (error) {
      throw toSocksError(error, "write");
    }
  }

  async closeWrite(): Promise<void> {
    try {
      await this.conn.closeWrite();
    } catch (error) {
      throw toSocksError(error, "close write");
    }
  }

  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= this.#makeWritable();
  }

  get localAddress(): Endpoint {
    return this.#local ??= endpoint(this.conn.localAddr);
  }

  get remoteAddress(): Endpoint {
    return this.#remote ??= endpoint(this.conn.remoteAddr);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Closing twice is harmless; Deno throws BadResource.
    }
  }

  /** A TLS server session over this connection's streams (a method: no per-connection cost until used). */
  upgradeToTlsServer(settings: TlsServerSettings, released: ReleasedBytes): Promise<TlsServerSession> {
    return upgradeToTlsServer.call(this, settings, released);
  }

  /**
   * Deno cannot send a reset: Deno.TcpConn has no SO_LINGER (setNoDelay and setKeepAlive are its only socket
   * options), so the peer of a Deno server sees a FIN where Node and Bun pass the reset on.
   */
  reset(): void {
    this.close();
  }

  /** For the native relay: the stream reads or has ended, or the connection is closed. */
  busy(): boolean {
    return this.#closed || this.#reading || this.#readEnded || (this.#sink !== undefined && this.#sink.busy);
  }

  /** For the native relay: it reads and writes the connection itself from now on, so the stream objects go. */
  release(): void {
    this.#readable = undefined;
    this.#writable = undefined;
    this.#sink = undefined;
  }

  #makeReadable(): ReadableStream<Uint8Array> {
    const conn = this.conn;
    return new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: AUTO_CHUNK_SIZE,
      // Made after direct reads that saw the end: the stream ends (or fails) the same way, without reading again.
      start: (controller: ReadableByteStreamController) => {
        if (this.#readFailure !== undefined) controller.error(this.#readFailure);
        else if (this.#readEnded) controller.close();
      },
      pull: async (controller: ReadableByteStreamController) => {
        const request = controller.byobRequest!;
        const view = request.view!;
        let n: number | null;
        this.#reading = true;
        try {
          n = await conn.read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
        } catch (error) {
          this.#readEnded = true;
          controller.error(toSocksError(error, "read"));
          return;
        } finally {
          this.#reading = false;
        }
        if (n === null) {
          this.#readEnded = true;
          controller.close();
          request.respond(0);
        } else {
          request.respond(n);
        }
      },
      cancel: () => this.close(),
    });
  }

  #makeWritable(): WritableStream<Uint8Array> {
    return new WritableStream<Uint8Array>({
      write: (chunk) => this.writeBytes(chunk),
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
  }
}

async function connect(options: ConnectOptions): Promise<Connection> {
  // Deno.connect has no source address (Deno 2.9); node:net under Deno has (`localAddress`, checked on 2.9.6), so
  // a connection from an outbound address is a node:net one, relayed through the streams.
  if (options.localAddress !== undefined) return await nodeConnect(options);
  const { hostname, port, signal } = options;
  const what = `connect ${formatEndpoint({ hostname, port })}`;
  if (signal?.aborted) throw toSocksError(signal.reason, what);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname, port, transport: "tcp", signal });
  } catch (error) {
    throw toSocksError(signal?.aborted ? signal.reason : error, what);
  }
  return denoConnection(conn);
}

function listen(options: ListenOptions, onConnection: (connection: Connection) => void): Promise<Listener> {
  let listener: Deno.TcpListener;
  try {
    const { hostname, port, reusePort } = options;
    // reusePort needs --unstable-net (Deno.listen throws without it): the workers' launcher passes the flag.
    listener = Deno.listen({ hostname, port, transport: "tcp", ...(reusePort ? { reusePort } : {}) });
  } catch (error) {
    return Promise.reject(toSocksError(error, `listen ${options.hostname}:${options.port}`));
  }
  let closed = false;
  const report = throttledReporter(options.onAcceptError);
  // Deno keeps the socket listening until the pending accept() is cancelled, so "closed" means the loop ended.
  const loop = (async () => {
    while (!closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closed || error instanceof Deno.errors.BadResource) return;
        if (isOutOfFiles(error)) report(toSocksError(error, "accept"));
        // EMFILE and friends: wait a little rather than spin, then keep serving.
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_BACKOFF_MS));
        continue;
      }
      onConnection(denoConnection(conn));
    }
  })();
  return Promise.resolve({
    address: endpoint(listener.addr),
    close: async () => {
      if (!closed) {
        closed = true;
        try {
          listener.close();
        } catch {
          // Already closed.
        }
      }
      await loop;
    },
  });
}

/**
 * The Network of Deno's native TCP, with `node:dgram` UDP and `node:dns` resolution.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoNetwork } from "./network.ts";
 * // Deno's native TCP: a listener, a connection to it, and half-close (FIN one way, reading goes on).
 * const network = denoNetwork();
 * const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, async (server) => {
 *   const writer = server.writable.getWriter();
 *   for await (const chunk of server.readable) await writer.write(chunk);
 *   await writer.close();
 * });
 * const client = await network.connect(listener.address);
 * const writer = client.writable.getWriter();
 * await writer.write(new TextEncoder().encode("ping"));
 * await writer.close();
 * let echoed = "";
 * for await (const chunk of client.readable) echoed += new TextDecoder().decode(chunk);
 * assert.equal(echoed, "ping");
 * client.close();
 * await listener.close();
 * ```
 */
export function denoNetwork(): Network {
  return { connect, listen, bindUdp, resolve, reverse };
}
