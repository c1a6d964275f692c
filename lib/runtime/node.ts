/**
 * The Node adapter: `node:net` sockets with `allowHalfOpen`, wrapped in hand-made byte streams (never
 * `Duplex.toWeb`, which is not a byte stream and deadlocks on half-close under Node 20).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nodeNetwork } from "./node.ts";
 * const network = nodeNetwork();
 * assert.deepEqual(await network.resolve("127.0.0.1"), ["127.0.0.1"]);
 * ```
 *
 * @module
 */
import net from "node:net";
import type { Connection, ConnectOptions, Endpoint, Listener, ListenOptions, Network } from "../net.ts";
// The Network contract this adapter implements, so that this entry point documents what it returns.
export type * from "../net.ts";
import { toSocksError } from "../net_error.ts";
import { SocksError } from "../wire/socks_error.ts";
import { bindUdp } from "./node_dgram.ts";
import { resolve, reverse } from "./node_dns.ts";
import { endpoint, SocketSource } from "./socket_source.ts";
import { NodeNativeSocket } from "./node_relay.ts";
import { FileDescriptorBudget, throttledReporter } from "./file_descriptors.ts";

/**
 * Wraps a connected `net.Socket` (created with `allowHalfOpen: true`) as a {@link Connection}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import net from "node:net";
 * import { once } from "node:events";
 * import { socketConnection } from "./node.ts";
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
  socket.setNoDelay(true);
  // Bun emits "end" when we destroy a socket ourselves; that is not the peer's FIN.
  let closedLocally = false;
  const closeLocally = (how: (socket: net.Socket) => void) => {
    closedLocally = true;
    if (!socket.destroyed) how(socket);
  };
  const closed = () => new SocksError("closed", "connection closed");
  // The streams are made on first use: Node's WHATWG streams cost a tenth of a short tunnel's CPU time, and the
  // outbound side of a tunnel that a native relay (node_relay.ts) carries never needs them. Until then the socket
  // stays paused, and its first error is kept for a stream made after it.
  let failure: SocksError | undefined;
  let source: SocketSource | undefined;
  let writable: WritableStream<Uint8Array> | undefined;
  socket.on("error", (error) => {
    const reason = toSocksError(error, "read");
    failure ??= reason;
    source?.fail(reason);
  });
  socket.pause();
  const onData = (chunk: Uint8Array) => source!.push(chunk);
  // The stream's end and close listeners, taken off when a native relay takes the socket over.
  let onEnd: (() => void) | undefined;
  let onClose: (() => void) | undefined;
  const readable = (): ReadableStream<Uint8Array> => {
    if (source) return source.readable;
    const made = source = new SocketSource({
      resume: () => socket.resume(),
      pause: () => socket.pause(),
      cancel: () => closeLocally((s) => s.destroy()),
    });
    socket.on("data", onData);
    onEnd = () => closedLocally ? made.fail(closed()) : made.end();
    // Checked first: a SocksError captures a stack trace, and most sockets close after their stream ended.
    onClose = () => made.ended || made.fail(closed());
    socket.on("end", onEnd);
    socket.on("close", onClose);
    if (socket.destroyed) made.fail(failure ?? closed());
    return made.readable;
  };
  const makeWritable = () =>
    new WritableStream<Uint8Array>({
      // Resolve only once Node has handed the chunk to the kernel: the relay reuses its buffer after each write.
      write: (chunk) => settled((done) => socket.write(chunk, done), "write"),
      close: () => settled((done) => socket.end(done), "close write"),
      abort() {
        socket.destroy();
      },
    });
  let local: Endpoint | undefined;
  let remote: Endpoint | undefined;

  return {
    get readable() {
      return readable();
    },
    get writable() {
      return writable ??= makeWritable();
    },
    // Asked for once, when needed: each is a system call (getsockname, getpeername).
    get localAddress() {
      return local ??= endpoint(socket.localAddress, socket.localPort);
    },
    get remoteAddress() {
      return remote ??= endpoint(socket.remoteAddress, socket.remotePort);
    },
    close: () => closeLocally((s) => s.destroy()),
    // RST instead of FIN (SO_LINGER 0): the peer learns that the stream was cut, not finished.
    reset: () => closeLocally((s) => s.resetAndDestroy()),
    native: new NodeNativeSocket(socket, {
      busy: () => socket.destroyed || (source !== undefined && source.busy),
      detach: () => {
        socket.off("data", onData);
        if (onEnd) socket.off("end", onEnd);
        if (onClose) socket.off("close", onClose);
        onEnd = onClose = undefined;
        // The relay reads and writes the socket itself from now on: the stream objects (a few KB on Node) go.
        source = undefined;
        writable = undefined;
      },
    }),
  };

  /**
   * Runs a write-side call and settles when its callback runs or the socket closes first: Bun never calls back
   * `end()` on a destroyed socket, and neither runtime promises a callback after a reset.
   */
  function settled(start: (done: (error?: Error | null) => void) => void, what: string): Promise<void> {
    if (socket.destroyed) return Promise.reject(new SocksError("closed", `${what}: connection closed`));
    return new Promise<void>((resolve, reject) => {
      const onClose = () => reject(new SocksError("closed", `${what}: connection closed`));
      socket.once("close", onClose);
      start((error) => {
        socket.off("close", onClose);
        if (error) reject(toSocksError(error, what));
        else resolve();
      });
    });
  }
}

function connect(options: ConnectOptions): Promise<Connection> {
  const { hostname, port, signal } = options;
  return new Promise((done, fail) => {
    if (signal?.aborted) return fail(toSocksError(signal.reason, `connect ${hostname}:${port}`));
    const socket = net.connect({ host: hostname, port, allowHalfOpen: true, noDelay: true });
    const onAbort = () => {
      socket.destroy();
      fail(toSocksError(signal!.reason, `connect ${hostname}:${port}`));
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
      fail(toSocksError(error, `connect ${hostname}:${port}`));
    });
  });
}

function listen(options: ListenOptions, onConnection: (connection: Connection) => void): Promise<Listener> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => {
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
 * import { nodeNetwork } from "./node.ts";
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
