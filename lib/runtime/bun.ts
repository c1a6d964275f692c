/**
 * The Bun adapter: `Bun.connect`/`Bun.listen` with their shared handlers, wrapped in hand-made byte streams (the
 * cheapest stream pair measured in Bun). Reads pause the socket once the readable holds its high-water mark and
 * resume when the reader pulls; writes wait for `drain` when the kernel takes only part of a chunk; closing the
 * writable sends FIN with `shutdown()` and keeps reading, so half-close works both ways.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bunNetwork } from "./bun.ts";
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
import type { Connection, ConnectOptions, Endpoint, Listener, ListenOptions, Network } from "../net.ts";
// The Network contract this adapter implements, so that this entry point documents what it returns.
export type * from "../net.ts";
import { toSocksError } from "../net_error.ts";
import { SocksError } from "../wire/socks_error.ts";
import { type BunSocket, type BunSocketHandlers, bunTcp } from "./bun_socket.ts";
import { bindUdp } from "./node_dgram.ts";
import { resolve, reverse } from "./node_dns.ts";

/** How many bytes a socket's readable may queue before the socket is paused. */
const READ_HIGH_WATER_MARK = 256 * 1024;

/**
 * The state of one socket, reached from the shared handlers through `socket.data`. It exists before the socket
 * does (Bun may deliver data between `open` and the resolution of `Bun.connect`), so the readable is ready first.
 */
class SocketState {
  socket: BunSocket<SocketState> | undefined;
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  #controller!: ReadableByteStreamController;
  #readEnded = false;
  #closed = false;
  #closedLocally = false;
  #drained: { resolve: () => void; reject: (error: SocksError) => void } | undefined;

  constructor() {
    this.readable = new ReadableStream({
      type: "bytes",
      start: (controller: ReadableByteStreamController) => {
        this.#controller = controller;
      },
      pull: () => this.socket?.resume(),
      cancel: () => this.close(),
    }, { highWaterMark: READ_HIGH_WATER_MARK });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.#write(chunk),
      close: () => {
        if (this.#closed) throw new SocksError("closed", "close write: connection closed");
        this.socket!.shutdown();
      },
      abort: () => this.close(),
    });
  }

  /** Closes both directions now: FIN, and whatever the peer sends later is refused. */
  close(): void {
    if (this.#closed) return;
    this.#closedLocally = true;
    this.socket?.end();
    this.#onClose();
  }

  onData(data: Uint8Array): void {
    if (this.#readEnded) return;
    // A byte stream takes ownership of the chunk's ArrayBuffer; Bun gives each chunk its own, but check.
    const owned = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
    this.#controller.enqueue(owned ? new Uint8Array(data.buffer) : new Uint8Array(data));
    if ((this.#controller.desiredSize ?? 0) <= 0) this.socket!.pause();
  }

  /** The peer's FIN. */
  onEnd(): void {
    if (this.#readEnded) return;
    this.#readEnded = true;
    this.#controller.close();
    this.#controller.byobRequest?.respond(0);
  }

  onDrain(): void {
    const waiter = this.#drained;
    this.#drained = undefined;
    waiter?.resolve();
  }

  /** The socket is gone: after both FINs (no error), a reset or failure (an error), or our own close. */
  onClose(error?: Error): void {
    this.#onClose(error);
  }

  #onClose(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    const reason = error !== undefined ? toSocksError(error, "read") : new SocksError("closed", "connection closed");
    this.#drained?.reject(reason);
    this.#drained = undefined;
    if (this.#readEnded) return;
    this.#readEnded = true;
    // Bun reports the peer's FIN after our own as a plain close without `end`: that is an end of stream too.
    if (error === undefined && !this.#closedLocally) {
      this.#controller.close();
      this.#controller.byobRequest?.respond(0);
    } else {
      this.#controller.error(reason);
    }
  }

  async #write(chunk: Uint8Array): Promise<void> {
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

  connection(): Connection {
    const socket = this.socket!;
    return {
      readable: this.readable,
      writable: this.writable,
      localAddress: endpoint(socket.localAddress, socket.localPort),
      remoteAddress: endpoint(socket.remoteAddress, socket.remotePort),
      close: () => this.close(),
    };
  }
}

function endpoint(hostname: string | undefined, port: number | undefined): Endpoint {
  return { hostname: hostname ?? "0.0.0.0", port: port ?? 0 };
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
  const { hostname, port, signal } = options;
  const what = `connect ${hostname}:${port}`;
  if (signal?.aborted) throw toSocksError(signal.reason, what);
  const state = new SocketState();
  const connecting = bunTcp().connect({ hostname, port, allowHalfOpen: true, data: state, socket: handlers });
  // Bun.connect cannot be cancelled: on abort, give up waiting and close the socket if it connects after all.
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      connecting.then(() => state.close(), () => {});
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    state.socket = await (signal ? Promise.race([connecting, aborted]) : connecting);
  } catch (error) {
    throw toSocksError(error, what);
  } finally {
    signal?.removeEventListener("abort", onAbort!);
  }
  state.socket.setNoDelay(true);
  return state.connection();
}

function listen(options: ListenOptions, onConnection: (connection: Connection) => void): Promise<Listener> {
  let listener;
  try {
    listener = bunTcp().listen<SocketState>({
      hostname: options.hostname,
      port: options.port,
      allowHalfOpen: true,
      // Like the other adapters: "::" takes IPv6 only; an IPv4 listener is its own socket.
      ipv6Only: true,
      socket: {
        ...handlers,
        open(socket) {
          const state = new SocketState();
          state.socket = socket;
          socket.data = state;
          socket.setNoDelay(true);
          onConnection(state.connection());
        },
      },
    });
  } catch (error) {
    return Promise.reject(toSocksError(error, `listen ${options.hostname}:${options.port}`));
  }
  let stopped = false;
  return Promise.resolve({
    address: { hostname: listener.hostname, port: listener.port },
    close: () => {
      if (!stopped) {
        stopped = true;
        // false: connections already accepted stay open.
        listener.stop(false);
      }
      return Promise.resolve();
    },
  });
}

/**
 * The Network of Bun's native TCP, with `node:dgram` UDP and `node:dns` resolution.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bunNetwork } from "./bun.ts";
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
