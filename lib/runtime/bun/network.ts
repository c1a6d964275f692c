/**
 * The Bun adapter: `Bun.connect`/`Bun.listen` with their shared handlers, wrapped in hand-made byte streams (the
 * cheapest stream pair measured in Bun). Reads pause the socket once the readable holds its high-water mark and
 * resume when the reader pulls; writes wait for `drain` when the kernel takes only part of a chunk; closing the
 * writable sends FIN with `shutdown()` and keeps reading, so half-close works both ways.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bunNetwork } from "./network.ts";
 * // The adapter can be built anywhere, but only Bun can open sockets with it.
 * const network = bunNetwork();
 * assert.deepEqual(await network.resolve("127.0.0.1"), ["127.0.0.1"]);
 * if ("Bun" in globalThis) {
 *   const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, (connection) => connection.close());
 *   await listener.close();
 * }
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
import { type BunListener, type BunSocket, type BunSocketHandlers, bunTcp } from "./socket.ts";
import { FileDescriptorBudget, outOfFilesNow, throttledReporter } from "../shared/file_descriptors.ts";
import { bindUdp } from "../shared/dgram_udp.ts";
import { resolve, reverse } from "../shared/dns_lookup.ts";
import { endpoint, SocketSource } from "../shared/socket_source.ts";
import { BunNativeSocket, type BunRelayHandler } from "./relay.ts";
import { formatEndpoint } from "../../net/endpoint.ts";
import { upgradeToTlsServer } from "../shared/tls_upgrade.ts";
import { type ByteSink, SocketSink, type SocketWrites } from "../../io/byte_sink.ts";
import { nodeNetwork } from "../node/network.ts";

const { connect: nodeConnect } = nodeNetwork();

/**
 * One socket: its state, reached from the shared handlers through `socket.data`, and the {@link Connection} over it.
 * It exists before the socket does (Bun may deliver data between `open` and the resolution of `Bun.connect`), so
 * data that comes while nobody reads is kept. The handshake reads and writes it directly (`read`, `sink`); the
 * streams are made on first use, from where the reads stopped, and a tunnel that the native relay carries never
 * makes them.
 */
class SocketState implements Connection, SocketWrites {
  socket: BunSocket<SocketState> | undefined;
  // read() hands over Bun's own arrays: no array is made for it.
  readonly readsInto = false;
  #native: BunNativeSocket | undefined;
  #source: SocketSource | undefined;
  #writable: WritableStream<Uint8Array> | undefined;
  #sink: SocketSink | undefined;
  // What came while no stream existed and no direct read waited, and how the read side ended then.
  #queued: Uint8Array[] | undefined;
  #readEnd: true | SocksError | undefined;
  // Paused by a chunk that came while no direct read waited (a waiting read takes its chunk without a pause: the
  // handshake reads again at once, and a pause and a resume are two system calls per chunk).
  #paused = false;
  #waiting: { resolve(chunk: Uint8Array | undefined): void; reject(error: SocksError): void } | undefined;
  #local: Endpoint | undefined;
  #remote: Endpoint | undefined;
  #closed = false;
  #counted = false;
  #closedLocally = false;
  #drained: { resolve: () => void; reject: (error: SocksError) => void } | undefined;
  /** Set once a native relay owns the socket (bun_relay.ts): the handlers go there, not to the stream. */
  #relay: BunRelayHandler | undefined;

  get readable(): ReadableStream<Uint8Array> {
    if (this.#source) return this.#source.readable;
    const source = this.#source = new SocketSource({
      resume: () => this.socket?.resume(),
      pause: () => this.socket?.pause(),
      cancel: () => this.close(),
    });
    for (const chunk of this.#queued ?? []) source.push(chunk);
    this.#queued = undefined;
    const ended = this.#readEnd;
    if (ended === true) source.end();
    else if (ended !== undefined) source.fail(ended);
    return source.readable;
  }

  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => this.writeBytes(chunk),
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
  }

  get localAddress(): Endpoint {
    return this.#local ??= endpoint(this.socket?.localAddress, this.socket?.localPort);
  }

  get remoteAddress(): Endpoint {
    return this.#remote ??= endpoint(this.socket?.remoteAddress, this.socket?.remotePort);
  }

  /** This socket as the native relay sees it. */
  get native(): BunNativeSocket {
    return this.#native ??= new BunNativeSocket({
      socket: () => this.socket as BunSocket<unknown>,
      busy: () =>
        this.#closed || (this.#source !== undefined && this.#source.busy) || this.#drained !== undefined ||
        this.#waiting !== undefined || this.#readEnd !== undefined || (this.#sink !== undefined && this.#sink.busy),
      takeOver: (handler) => {
        this.#relay = handler;
        this.#source = undefined;
        this.#writable = undefined;
        this.#sink = undefined;
        // What came while nobody read (a client's data right behind its request, a server's banner): the relay
        // sends it first, after the handshake's own leftover.
        const queued = this.#queued;
        this.#queued = undefined;
        return queued;
      },
      close: () => this.close(),
      reset: () => this.reset(),
    });
  }

  /** Reads the socket without a stream (the handshake's fast path): the next chunk, undefined at the peer's FIN. */
  read(): Promise<Uint8Array | undefined> {
    if (this.#source) return Promise.reject(new SocksError("failed", "read() after the stream was made"));
    const queued = this.#queued?.shift();
    if (queued !== undefined) {
      if (this.#queued!.length === 0) this.#queued = undefined;
      return Promise.resolve(queued);
    }
    const ended = this.#readEnd;
    if (ended !== undefined) return ended === true ? Promise.resolve(undefined) : Promise.reject(ended);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      if (this.#paused) {
        this.#paused = false;
        this.socket?.resume();
      }
    });
  }

  /** Writes the socket without a stream (the handshake's fast path). */
  sink(): ByteSink {
    return this.#sink ??= new SocketSink(this);
  }

  /** A TLS server session over this connection's streams (a method: no per-connection cost until used). */
  upgradeToTlsServer(settings: TlsServerSettings, released: ReleasedBytes): Promise<TlsServerSession> {
    return upgradeToTlsServer.call(this, settings, released);
  }

  /** Closes both directions now: FIN, and whatever the peer sends later is refused. */
  close(): void {
    if (this.#closed) return;
    this.#closedLocally = true;
    this.socket?.end();
    this.#onClose();
  }

  /** Closes both directions with a reset (RST): `terminate()` closes with SO_LINGER 0. */
  reset(): void {
    if (this.#closed) return;
    this.#closedLocally = true;
    this.socket?.terminate();
    this.#onClose();
  }

  onData(data: Uint8Array): void {
    if (this.#relay) return this.#relay.onData(data);
    if (this.#source) return this.#source.push(data);
    // No stream: a direct read takes it, or it waits for one (or for the stream, or a relay) with the socket paused.
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      return waiting.resolve(data);
    }
    (this.#queued ??= []).push(data);
    if (!this.#paused) {
      this.#paused = true;
      this.socket?.pause();
    }
  }

  /** The peer's FIN. */
  onEnd(): void {
    if (this.#relay) this.#relay.onEnd();
    else if (this.#source) this.#source.end();
    else this.#endDirect(true);
  }

  onDrain(): void {
    if (this.#relay) return this.#relay.onDrain();
    const waiter = this.#drained;
    this.#drained = undefined;
    waiter?.resolve();
  }

  /** The socket is gone: after both FINs (no error), a reset or failure (an error), or our own close. */
  onClose(error?: Error): void {
    this.#relay?.onClose(error);
    this.#onClose(error);
  }

  /** Counts the socket as open (see liveSockets). */
  attach(socket: BunSocket<SocketState>): void {
    this.socket = socket;
    if (this.#closed || this.#counted) return;
    this.#counted = true;
    liveSockets++;
  }

  async writeBytes(chunk: Uint8Array): Promise<void> {
    for (let done = 0; done < chunk.byteLength;) {
      if (this.#closed) throw new SocksError("closed", "write: connection closed");
      const written = this.socket!.write(chunk, done, chunk.byteLength - done);
      if (written < 0) throw new SocksError("closed", "write: connection closed");
      done += written;
      if (done < chunk.byteLength) {
        await new Promise<void>((resolve, reject) => (this.#drained = { resolve, reject }));
      }
    }
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(new SocksError("closed", "close write: connection closed"));
    this.socket!.shutdown();
    return Promise.resolve();
  }

  /** The read side's end while no stream exists: a waiting direct read learns it, later ones too. */
  #endDirect(how: true | SocksError): void {
    if (this.#readEnd !== undefined) return;
    this.#readEnd = how;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting === undefined) return;
    if (how === true) waiting.resolve(undefined);
    else waiting.reject(how);
  }

  #onClose(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#counted) liveSockets--;
    const source = this.#source;
    // Made only when someone will see it: a SocksError captures a stack trace, and most sockets close idle.
    if (this.#drained === undefined && (source?.ended || this.#relay !== undefined)) return;
    if (source === undefined && this.#drained === undefined && this.#readEnd !== undefined) return;
    const reason = error !== undefined ? toSocksError(error, "read") : new SocksError("closed", "connection closed");
    this.#drained?.reject(reason);
    this.#drained = undefined;
    // Bun reports the peer's FIN after our own as a plain close without `end`: that is an end of stream too.
    const how = error === undefined && !this.#closedLocally ? true : reason;
    if (source === undefined) this.#endDirect(how);
    else if (how === true) source.end();
    else source.fail(how);
  }
}

/** The handlers every socket shares; each forwards to the socket's own state. */
const handlers: BunSocketHandlers<SocketState> = {
  data: (socket, data) => socket.data.onData(data),
  end: (socket) => socket.data.onEnd(),
  drain: (socket) => socket.data.onDrain(),
  close: (socket, error) => socket.data?.onClose(error),
  // Called when one of the handlers above throws; the stream has already been told, so keep serving.
  error: (socket, error) => socket.data?.onClose(error),
  // Bun.connect's promise rejects with the same error; connect() reports it from there.
  connectError: () => {},
};

async function connect(options: ConnectOptions): Promise<Connection> {
  // Bun.connect cannot be cancelled (Bun 1.4.5: its socket stays in SYN-SENT after an abort, until the kernel gives
  // up, minutes later); node:net's can (destroy() closes it). A raced attempt is the one likely to be given up, so
  // it takes node:net, at the price of the stream relay instead of Bun's native one for that tunnel.
  if (options.raced) return await nodeConnect(options);
  const { hostname, port, signal, localAddress } = options;
  const what = `connect ${formatEndpoint({ hostname, port })}`;
  if (signal?.aborted) throw toSocksError(signal.reason, what);
  const state = new SocketState();
  // Bun.connect takes `localAddress` though its types do not say so (checked on Bun 1.4.5: the peer sees it).
  const connecting = bunTcp().connect(
    localAddress === undefined
      ? { hostname, port, allowHalfOpen: true, data: state, socket: handlers }
      : { hostname, port, localAddress, allowHalfOpen: true, data: state, socket: handlers },
  );
  // Bun.connect cannot be cancelled: on abort, give up waiting and close the socket if it connects after all.
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      connecting.then((socket) => {
        state.socket = socket;
        state.close();
      }, () => {});
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    state.socket = await (signal ? Promise.race([connecting, aborted]) : connecting);
  } catch (error) {
    // Bun reports a socket it could not create for want of descriptors as ECONNREFUSED: tell them apart.
    if (outOfFilesNow()) throw new SocksError("failed", `${what}: too many open files (EMFILE)`, { cause: error });
    throw toSocksError(error, what);
  } finally {
    signal?.removeEventListener("abort", onAbort!);
  }
  state.attach(state.socket);
  // No setNoDelay here or at accept: Bun sets TCP_NODELAY on every socket it connects or accepts (strace, Bun
  // 1.4.5), so a call of ours is one more system call per socket.
  return state;
}

/** This process's descriptor table, watched so that accepting stops before it is full (see file_descriptors.ts). */
const budget = FileDescriptorBudget.read();
/** Sockets this adapter holds open, and the other descriptors as last counted: a cheap estimate of the table. */
let liveSockets = 0;
let otherDescriptors = budget?.inUse() ?? 0;
let countedAt = 0;

/** True when the table is nearly full; it is counted only when the estimate says so, or once a second. */
function nearlyFull(): boolean {
  if (budget === undefined) return false;
  if (!budget.tight(liveSockets + otherDescriptors) && Date.now() - countedAt < 1000) return false;
  const inUse = budget.inUse();
  countedAt = Date.now();
  otherDescriptors = Math.max(0, inUse - liveSockets);
  return budget.tight(inUse);
}

function listen(options: ListenOptions, onConnection: (connection: Connection) => void): Promise<Listener> {
  const report = throttledReporter(options.onAcceptError);
  let stopped = false;
  let retry: ReturnType<typeof setInterval> | undefined;
  const start = (port: number) =>
    bunTcp().listen<SocketState>({
      hostname: options.hostname,
      port,
      allowHalfOpen: true,
      // Like the other adapters: "::" takes IPv6 only; an IPv4 listener is its own socket.
      ipv6Only: true,
      reusePort: options.reusePort ?? false,
      socket: {
        ...handlers,
        open(socket) {
          const state = new SocketState();
          state.attach(socket);
          socket.data = state;
          onConnection(state);
          if (nearlyFull()) pause();
        },
      },
    });
  let listener: BunListener | undefined;
  try {
    listener = start(options.port);
  } catch (error) {
    return Promise.reject(toSocksError(error, `listen ${options.hostname}:${options.port}`));
  }
  const address = { hostname: listener.hostname, port: listener.port };
  // Out of descriptors, Bun would retry accept() in a busy loop: stop listening (new clients are refused, which
  // they can retry) and listen again once enough descriptors are free. The connections already accepted go on.
  function pause(): void {
    listener?.stop(false);
    listener = undefined;
    report(new SocksError("failed", `accept: too many open files (EMFILE): not accepting until some close`));
    retry = setInterval(() => {
      if (stopped || !budget!.roomy()) return;
      try {
        listener = start(address.port);
        clearInterval(retry);
      } catch (error) {
        report(toSocksError(error, `listen ${options.hostname}:${address.port} again`));
      }
    }, ACCEPT_RETRY_MS);
  }
  return Promise.resolve({
    address,
    close: () => {
      if (!stopped) {
        stopped = true;
        clearInterval(retry);
        // false: connections already accepted stay open.
        listener?.stop(false);
      }
      return Promise.resolve();
    },
  });
}

/** How often a listener that stopped for want of descriptors checks whether it can listen again. */
const ACCEPT_RETRY_MS = 250;

/**
 * The Network of Bun's native TCP, with `node:dgram` UDP and `node:dns` resolution.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bunNetwork } from "./network.ts";
 * const network = bunNetwork();
 * // Names and literals resolve through node:dns in any runtime; the sockets are Bun's own, so only Bun opens them.
 * assert.deepEqual(await network.resolve("127.0.0.1"), ["127.0.0.1"]);
 * if ("Bun" in globalThis) {
 *   const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, (server) => server.close());
 *   const client = await network.connect(listener.address);
 *   // The listener closed it at once: the readable ends with no byte.
 *   for await (const _ of client.readable) assert.fail("no data expected");
 *   client.close();
 *   await listener.close();
 * }
 * ```
 */
export function bunNetwork(): Network {
  return { connect, listen, bindUdp, resolve, reverse };
}
