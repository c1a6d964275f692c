/**
 * The Node adapter: `node:net` sockets with `allowHalfOpen`, wrapped in hand-made byte streams (never
 * `Duplex.toWeb`, which is not a byte stream and deadlocks on half-close under Node 20).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nodeNetwork } from "./network.ts";
 * const network = nodeNetwork();
 * assert.deepEqual(await network.resolve("127.0.0.1"), ["127.0.0.1"]);
 * ```
 *
 * @module
 */
import type net from "node:net";
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
import { builtinModule } from "../shared/builtin_module.ts";
import { bindUdp } from "../shared/dgram_udp.ts";
import { resolve, reverse } from "../shared/dns_lookup.ts";
import { endpoint, SocketSource } from "../shared/socket_source.ts";
import { NodeNativeSocket, type NodeStreamHooks } from "./relay.ts";
import { FileDescriptorBudget, throttledReporter } from "../shared/file_descriptors.ts";
import { formatEndpoint } from "../../net/endpoint.ts";
import { upgradeToTlsServer } from "../shared/tls_upgrade.ts";
import { type ByteSink, SocketSink, type SocketWrites } from "../../io/byte_sink.ts";
import { concatBytes } from "../../io/concat_bytes.ts";

/**
 * Wraps a connected `net.Socket` (created with `allowHalfOpen: true`) as a {@link Connection}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import net from "node:net";
 * import { once } from "node:events";
 * import { socketConnection } from "./network.ts";
 * const server = net.createServer({ allowHalfOpen: true }, (socket) => socket.end("hello"));
 * await once(server.listen(0, "127.0.0.1"), "listening");
 * const { port } = server.address() as net.AddressInfo;
 * const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
 * await once(socket, "connect");
 * const connection = socketConnection(socket);
 * assert.equal(connection.remoteAddress.port, port);
 * let text = "";
 * for await (const chunk of connection.readable) text += new TextDecoder().decode(chunk);
 * assert.equal(text, "hello");
 * connection.close();
 * server.close();
 * ```
 */
export function socketConnection(socket: net.Socket): Connection {
  return new SocketConnection(socket);
}

const closed = () => new SocksError("closed", "connection closed");

/**
 * The Connection over one socket. A class, not an object literal of closures: a proxy holds two per tunnel for as
 * long as the tunnel lives, and per-instance getters and closures cost about 2 KB a tunnel on V8.
 */
class SocketConnection implements Connection, NodeStreamHooks, SocketWrites {
  readonly native: NodeNativeSocket;
  // read() hands over Node's own chunks: no array is made for it.
  readonly readsInto = false;
  readonly #socket: net.Socket;
  // Bun emits "end" when we destroy a socket ourselves; that is not the peer's FIN.
  #closedLocally = false;
  // The streams are made on first use: Node's WHATWG streams cost a tenth of a short tunnel's CPU time, and the
  // outbound side of a tunnel that a native relay (node_relay.ts) carries never needs them. Until then the socket
  // stays paused, and its first error is kept for a stream made after it.
  #failure: SocksError | undefined;
  #source: SocketSource | undefined;
  #writable: WritableStream<Uint8Array> | undefined;
  // The listeners of the stream or of direct reads, taken off when a native relay takes the socket over.
  #listeners: { data(chunk: Uint8Array): void; end(): void; close(): void } | undefined;
  // Direct reads (read(), the handshake's fast path, io/byte_source.ts): the one waiting, a chunk that came with
  // none waiting, and how the read side ended (true: the peer's FIN).
  #waiting: { resolve(chunk: Uint8Array | undefined): void; reject(error: SocksError): void } | undefined;
  #queued: Uint8Array | undefined;
  #readEnd: true | SocksError | undefined;
  #sink: SocketSink | undefined;
  #local: Endpoint | undefined;
  #remote: Endpoint | undefined;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("error", (error) => {
      const reason = toSocksError(error, "read");
      this.#failure ??= reason;
      this.#source?.fail(reason);
      this.#endDirect(reason);
    });
    socket.pause();
    this.native = new NodeNativeSocket(socket, this);
  }

  /** Reads the socket without a stream (the handshake's fast path): the next chunk, undefined at the peer's FIN. */
  read(): Promise<Uint8Array | undefined> {
    if (this.#source) return Promise.reject(new SocksError("failed", "read() after the stream was made"));
    const queued = this.#queued;
    if (queued !== undefined) {
      this.#queued = undefined;
      return Promise.resolve(queued);
    }
    const ended = this.#readEnd;
    if (ended !== undefined) return ended === true ? Promise.resolve(undefined) : Promise.reject(ended);
    if (this.#socket.destroyed) return Promise.reject(this.#failure ?? closed());
    if (this.#listeners === undefined) {
      this.#listeners = {
        data: (chunk) => {
          this.#socket.pause();
          const waiting = this.#waiting;
          this.#waiting = undefined;
          if (waiting) waiting.resolve(chunk);
          else this.#queued = this.#queued === undefined ? chunk : concatBytes([this.#queued, chunk]);
        },
        end: () => this.#endDirect(this.#closedLocally ? closed() : true),
        close: () => this.#endDirect(this.#failure ?? closed()),
      };
      this.#listen(this.#listeners);
    }
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.resume();
    });
  }

  /** The direct reads' end: a waiting read learns it, later ones too. */
  #endDirect(how: true | SocksError): void {
    if (this.#source !== undefined || this.#readEnd !== undefined) return;
    this.#readEnd = how;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting === undefined) return;
    if (how === true) waiting.resolve(undefined);
    else waiting.reject(how);
  }

  #listen(listeners: { data(chunk: Uint8Array): void; end(): void; close(): void }): void {
    this.#socket.on("data", listeners.data);
    this.#socket.on("end", listeners.end);
    this.#socket.on("close", listeners.close);
  }

  #unlisten(): void {
    const listeners = this.#listeners;
    if (listeners) {
      this.#socket.off("data", listeners.data);
      this.#socket.off("end", listeners.end);
      this.#socket.off("close", listeners.close);
    }
    this.#listeners = undefined;
  }

  /** Writes the socket without a stream (the handshake's fast path). */
  sink(): ByteSink {
    return this.#sink ??= new SocketSink(this);
  }

  writeBytes(chunk: Uint8Array): Promise<void> {
    return this.#settled((done) => this.#socket.write(chunk, done), "write");
  }

  closeWrite(): Promise<void> {
    return this.#settled((done) => this.#socket.end(done), "close write");
  }

  get readable(): ReadableStream<Uint8Array> {
    if (this.#source) return this.#source.readable;
    // Made after direct reads: they stop here, and what they held or saw goes to the stream.
    this.#unlisten();
    const queued = this.#queued;
    const ended = this.#readEnd;
    this.#queued = undefined;
    const socket = this.#socket;
    const made = this.#source = new SocketSource({
      resume: () => socket.resume(),
      pause: () => socket.pause(),
      cancel: () => this.close(),
    });
    this.#listeners = {
      data: (chunk) => made.push(chunk),
      end: () => this.#closedLocally ? made.fail(closed()) : made.end(),
      // Checked first: a SocksError captures a stack trace, and most sockets close after their stream ended.
      close: () => made.ended || made.fail(closed()),
    };
    this.#listen(this.#listeners);
    if (queued !== undefined) made.push(queued);
    if (ended === true) made.end();
    else if (ended !== undefined) made.fail(ended);
    else if (socket.destroyed) made.fail(this.#failure ?? closed());
    return made.readable;
  }

  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>({
      // Resolve only once Node has handed the chunk to the kernel: the relay reuses its buffer after each write.
      write: (chunk) => this.writeBytes(chunk),
      close: () => this.closeWrite(),
      abort: () => void this.#socket.destroy(),
    });
  }

  // Asked for once, when needed: each is a system call (getsockname, getpeername).
  get localAddress(): Endpoint {
    return this.#local ??= endpoint(this.#socket.localAddress, this.#socket.localPort);
  }

  get remoteAddress(): Endpoint {
    return this.#remote ??= endpoint(this.#socket.remoteAddress, this.#socket.remotePort);
  }

  close(): void {
    this.#closedLocally = true;
    if (!this.#socket.destroyed) this.#socket.destroy();
  }

  /** A TLS server session over this connection's streams (a method: no per-connection cost until used). */
  upgradeToTlsServer(settings: TlsServerSettings, released: ReleasedBytes): Promise<TlsServerSession> {
    return upgradeToTlsServer.call(this, settings, released);
  }

  /** RST instead of FIN (SO_LINGER 0): the peer learns that the stream was cut, not finished. */
  reset(): void {
    this.#closedLocally = true;
    if (!this.#socket.destroyed) this.#socket.resetAndDestroy();
  }

  /** For the native relay: the stream or a direct read holds bytes, waits on a read or has ended. */
  busy(): boolean {
    return this.#socket.destroyed || (this.#source !== undefined && this.#source.busy) ||
      this.#waiting !== undefined || this.#queued !== undefined || this.#readEnd !== undefined ||
      (this.#sink !== undefined && this.#sink.busy);
  }

  /** For the native relay: it reads and writes the socket itself from now on, so the stream objects go. */
  detach(): void {
    this.#unlisten();
    this.#source = undefined;
    this.#writable = undefined;
    this.#sink = undefined;
  }

  /**
   * Runs a write-side call and settles when its callback runs or the socket closes first: Bun never calls back
   * `end()` on a destroyed socket, and neither runtime promises a callback after a reset.
   */
  #settled(start: (done: (error?: Error | null) => void) => void, what: string): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed) return Promise.reject(new SocksError("closed", `${what}: connection closed`));
    return new Promise<void>((resolve, reject) => {
      const onClose = () => reject(new SocksError("closed", `${what}: connection closed`));
      socket.once("close", onClose);
      start((error) => {
        socket.off("close", onClose);
        if (error) reject(toSocksError(error, what));
        // Node 20 calls a write back without an error when the socket is destroyed under it: those bytes never went.
        else if (socket.destroyed) reject(new SocksError("closed", `${what}: connection closed`));
        else resolve();
      });
    });
  }
}

function connect(options: ConnectOptions): Promise<Connection> {
  const { hostname, port, signal, localAddress } = options;
  return new Promise((done, fail) => {
    if (signal?.aborted) return fail(toSocksError(signal.reason, `connect ${formatEndpoint({ hostname, port })}`));
    const socket = builtinModule<typeof net>("node:net").connect({
      host: hostname,
      port,
      localAddress,
      allowHalfOpen: true,
      noDelay: true,
    });
    const onAbort = () => {
      socket.destroy();
      fail(toSocksError(signal!.reason, `connect ${formatEndpoint({ hostname, port })}`));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      signal?.removeEventListener("abort", onAbort);
      socket.removeAllListeners("error");
      done(socketConnection(socket));
    });
    socket.once("error", (error) => {
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      fail(toSocksError(error, `connect ${formatEndpoint({ hostname, port })}`));
    });
  });
}

function listen(options: ListenOptions, onConnection: (connection: Connection) => void): Promise<Listener> {
  const server = builtinModule<typeof net>("node:net").createServer({
    allowHalfOpen: true,
    pauseOnConnect: true,
    noDelay: true,
  }, (socket) => {
    // A client that resets before we wrap it has no address; there is nothing to serve.
    if (socket.remoteAddress === undefined) return void socket.destroy();
    socket.on("error", () => {});
    onConnection(socketConnection(socket));
  });
  let watch: ReturnType<typeof setInterval> | undefined;
  return new Promise((done, fail) => {
    server.once("error", (error) => fail(toSocksError(error, `listen ${options.hostname}:${options.port}`)));
    // reusePort: Node 22.12 and later; Node 20 ignores it, and its workers share one socket through node:cluster.
    const { hostname: host, port, reusePort } = options;
    server.listen({ host, port, ipv6Only: true, ...(reusePort ? { reusePort } : {}) }, () => {
      server.removeAllListeners("error");
      server.on("error", () => {});
      // Out of descriptors, libuv accepts and drops each waiting connection (it keeps a spare descriptor for that)
      // and tells nobody: the table is looked at once a second, only when someone wants the report.
      const report = throttledReporter(options.onAcceptError);
      const budget = options.onAcceptError ? FileDescriptorBudget.read() : undefined;
      watch = budget && setInterval(() => {
        const inUse = budget.inUse();
        if (budget.full(inUse)) {
          report(new SocksError("failed", `accept: too many open files (EMFILE, ${inUse} of ${budget.limit})`));
        }
      }, 1000);
      (watch as { unref?: () => void } | undefined)?.unref?.();
      const address = server.address() as net.AddressInfo;
      // Node stops listening at once; server.close()'s callback waits for every connection, so don't wait for it.
      done({
        address: { hostname: address.address, port: address.port },
        close: () => {
          clearInterval(watch);
          return Promise.resolve(void server.close());
        },
      });
    });
  });
}

/**
 * The Network of `node:net`; also runs under Bun and Deno, which implement `node:net`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nodeNetwork } from "./network.ts";
 * // node:net, which Deno and Bun implement too: a listener, a connection to it, and half-close.
 * const network = nodeNetwork();
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
export function nodeNetwork(): Network {
  return { connect, listen, bindUdp, resolve, reverse };
}
