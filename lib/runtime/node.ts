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
import type { Connection, ConnectOptions, Listener, ListenOptions, Network } from "../net.ts";
// The Network contract this adapter implements, so that this entry point documents what it returns.
export type * from "../net.ts";
import { toSocksError } from "../net_error.ts";
import { SocksError } from "../wire/socks_error.ts";
import { bindUdp } from "./node_dgram.ts";
import { resolve, reverse } from "./node_dns.ts";
import { endpoint, SocketSource } from "./socket_source.ts";
import { NodeNativeSocket } from "./node_relay.ts";
import { isOutOfFiles, throttledReporter } from "./file_descriptors.ts";

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
  const source = new SocketSource({
    resume: () => socket.resume(),
    pause: () => socket.pause(),
    cancel: () => closeLocally((s) => s.destroy()),
  });
  const closed = () => new SocksError("closed", "connection closed");
  const onData = (chunk: Uint8Array) => source.push(chunk);
  socket.on("data", onData);
  socket.on("end", () => (closedLocally ? source.fail(closed()) : source.end()));
  socket.on("error", (error) => source.fail(toSocksError(error, "read")));
  socket.on("close", () => source.fail(closed()));
  socket.pause();
  const readable = source.readable;

  const writable = new WritableStream<Uint8Array>({
    // Resolve only once Node has handed the chunk to the kernel: the relay reuses its buffer after each write.
    write: (chunk) => settled((done) => socket.write(chunk, done), "write"),
    close: () => settled((done) => socket.end(done), "close write"),
    abort() {
      socket.destroy();
    },
  });

  return {
    readable,
    writable,
    localAddress: endpoint(socket.localAddress, socket.localPort),
    remoteAddress: endpoint(socket.remoteAddress, socket.remotePort),
    close: () => closeLocally((s) => s.destroy()),
    // RST instead of FIN (SO_LINGER 0): the peer learns that the stream was cut, not finished.
    reset: () => closeLocally((s) => s.resetAndDestroy()),
    native: new NodeNativeSocket(socket, {
      busy: () => source.busy || socket.destroyed,
      detach: () => void socket.off("data", onData),
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
  return new Promise((done, fail) => {
    server.once("error", (error) => fail(toSocksError(error, `listen ${options.hostname}:${options.port}`)));
    server.listen({ host: options.hostname, port: options.port, ipv6Only: true }, () => {
      server.removeAllListeners("error");
      // Out of descriptors, libuv drops the waiting connection (it keeps a spare descriptor for that) and the
      // server reports EMFILE here; it keeps listening.
      const report = throttledReporter(options.onAcceptError);
      server.on("error", (error) => {
        if (isOutOfFiles(error)) report(toSocksError(error, "accept"));
      });
      const address = server.address() as net.AddressInfo;
      // Node stops listening at once; server.close()'s callback waits for every connection, so don't wait for it.
      done({
        address: { hostname: address.address, port: address.port },
        close: () => Promise.resolve(void server.close()),
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
