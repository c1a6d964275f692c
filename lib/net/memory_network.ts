/**
 * A {@link Network} that lives in memory: no socket, no port, no DNS. Connections are pairs of bounded byte pipes
 * with the runtime adapters' contract (byte streams with BYOB reads, half-close, backpressure, `close()` as a
 * reset), listeners and UDP sockets sit in one table per network, and names come from a table given at
 * construction. Tests of the session, the relay and the client run on it in milliseconds and the same way every
 * time, since nothing waits for a timer or the kernel.
 *
 * The network is one host that owns every address: a connection to 192.0.2.7 reaches whatever listens on
 * 192.0.2.7 (or on 0.0.0.0), and comes from that same address unless {@link MemoryNetwork.from} names another.
 *
 * @module
 */
import { formatEndpoint, ipAddress } from "./endpoint.ts";
import type {
  Connection,
  ConnectOptions,
  Datagram,
  Endpoint,
  Listener,
  ListenOptions,
  Network,
  UdpSocket,
} from "./network.ts";
import { toSocksError } from "./net_error.ts";
import { SocksError } from "../wire/socks_error.ts";

/** Options of a {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /**
   * The name table for `resolve` and `reverse`: a name (case-insensitive, trailing dot ignored) to its addresses,
   * in the order `resolve` returns them. A name not in it fails as a DNS failure does ("host-unreachable").
   */
  readonly names?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * Bytes one direction of a connection holds unread before a writer waits: the stand-in for the kernel's socket
   * buffers. Default 256 KiB.
   */
  readonly bufferSize?: number;
}

const DEFAULT_BUFFER_SIZE = 256 * 1024;

/** Ephemeral ports, as Linux hands them out (net.ipv4.ip_local_port_range). */
const EPHEMERAL = { first: 32768, last: 60999 } as const;

/** The largest UDP payload per family (65535 minus the IP and UDP headers). */
const MAX_DATAGRAM = { ipv4: 65507, ipv6: 65527 } as const;

const closedError = (what: string) => new SocksError("closed", `${what}: connection closed`);

/**
 * One direction of a connection: a bounded queue of byte chunks. A writer waits while the queue is full, the
 * reader waits while it is empty; `end` is a FIN (the reader drains, then sees the end), `fail` a reset (both
 * sides fail at once, queued bytes are lost).
 */
class Pipe {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #failure: SocksError | undefined;
  #reset = false;
  #wakeReader: (() => void) | undefined;
  #wakeWriters: (() => void)[] = [];

  constructor(readonly capacity: number) {}

  /** Bytes queued and not read yet. */
  get buffered(): number {
    return this.#buffered;
  }

  /** True once the writer's end reset it (it closed with bytes unread): the reader's side is gone for good. */
  get reset(): boolean {
    return this.#reset;
  }

  /** True once written to its end or failed: no more writes. */
  get finished(): boolean {
    return this.#ended || this.#failure !== undefined;
  }

  /** Queues a copy of `chunk` as room frees up (the caller may reuse it once this resolves). */
  async write(chunk: Uint8Array): Promise<void> {
    for (let at = 0; at < chunk.length;) {
      if (this.#failure) throw this.#failure;
      if (this.#ended) throw closedError("write");
      const room = this.capacity - this.#buffered;
      if (room <= 0) {
        await new Promise<void>((resolve) => this.#wakeWriters.push(resolve));
        continue;
      }
      const n = Math.min(room, chunk.length - at);
      this.#chunks.push(chunk.slice(at, at + n));
      this.#buffered += n;
      at += n;
      this.#wake();
    }
    if (this.#failure) throw this.#failure;
  }

  /** The writer's FIN: the reader gets what is queued, then the end. A write still waiting for room fails. */
  end(): void {
    if (this.finished) return;
    this.#ended = true;
    this.#wake();
    this.#wakeAllWriters();
  }

  /**
   * The reader's end went away (`reset` false) or the writer's end reset: the reader and any writer fail with
   * `error`; queued bytes are dropped.
   */
  fail(error: SocksError, reset = false): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#reset = reset;
    this.#chunks = [];
    this.#buffered = 0;
    this.#wake();
    this.#wakeAllWriters();
  }

  /** The read side, as a byte stream; pulls only when read (high-water mark 0), so all queueing is here. */
  readable(onCancel: () => void): ReadableStream<Uint8Array> {
    return new ReadableStream({
      type: "bytes",
      pull: async (controller: ReadableByteStreamController) => {
        while (this.#chunks.length === 0 && !this.#ended && !this.#failure) {
          await new Promise<void>((resolve) => (this.#wakeReader = resolve));
        }
        if (this.#failure) return controller.error(this.#failure);
        if (this.#chunks.length === 0) {
          controller.close();
          controller.byobRequest?.respond(0);
          return;
        }
        const request = controller.byobRequest;
        if (request?.view) {
          const view = new Uint8Array(request.view.buffer, request.view.byteOffset, request.view.byteLength);
          request.respond(this.#take(view));
        } else {
          const chunk = this.#chunks.shift()!;
          this.#buffered -= chunk.length;
          // enqueue() transfers the whole ArrayBuffer: a chunk left over from a BYOB read is a view into a larger one.
          const owned = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
          controller.enqueue(owned ? chunk : chunk.slice());
        }
        this.#wakeAllWriters();
      },
      cancel: onCancel,
    }, { highWaterMark: 0 });
  }

  /** Copies queued bytes into `view`; returns how many. */
  #take(view: Uint8Array): number {
    let filled = 0;
    while (filled < view.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const n = Math.min(chunk.length, view.length - filled);
      view.set(chunk.subarray(0, n), filled);
      filled += n;
      if (n === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(n);
    }
    this.#buffered -= filled;
    return filled;
  }

  #wake(): void {
    const reader = this.#wakeReader;
    this.#wakeReader = undefined;
    reader?.();
  }

  #wakeAllWriters(): void {
    const writers = this.#wakeWriters;
    this.#wakeWriters = [];
    for (const wake of writers) wake();
  }
}

/** One end of a connection over two pipes: `inbound` is read here, `outbound` written here. */
function connectionEnd(
  inbound: Pipe,
  outbound: Pipe,
  localAddress: Endpoint,
  remoteAddress: Endpoint,
): Connection {
  let closed = false;
  const shut = (abort: boolean) => {
    if (closed) return;
    closed = true;
    // As TCP does: unread bytes at close make a reset; otherwise the peer reads what we sent, then the end.
    const reset = abort || inbound.buffered > 0;
    // After a reset the peer's writes fail as TCP's do (ECONNRESET); after a FIN, as writes to a closed socket.
    inbound.fail(reset ? new SocksError("reset", "connection reset by peer") : closedError("read"));
    if (reset) outbound.fail(new SocksError("reset", "connection reset by peer"), true);
    else outbound.end();
  };
  const close = () => shut(false);
  const reset = () => shut(true);
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => closed ? Promise.reject(closedError("write")) : outbound.write(chunk),
    close: () => {
      if (closed) throw closedError("close write");
      if (inbound.reset) throw new SocksError("closed", "close write: connection reset by peer");
      // A FIN to a peer that closed already succeeds, as TCP's shutdown does; writes to it fail (at once, where
      // TCP lets one through before the peer's reset arrives: the same outcome, without the race).
      outbound.end();
    },
    abort: close,
  });
  return { readable: inbound.readable(close), writable, localAddress, remoteAddress, close, reset };
}

type Family = "ipv4" | "ipv6";

interface Bound<T> {
  readonly address: Endpoint;
  readonly family: Family;
  readonly wildcard: boolean;
  readonly target: T;
}

/** Listeners or UDP sockets by address; a wildcard address (0.0.0.0, ::) takes every address of its family. */
class PortTable<T> {
  #entries: Bound<T>[] = [];

  /** The entry that takes traffic for `hostname` (canonical) and `port`: an exact match first, then a wildcard. */
  find(hostname: string, family: Family, port: number): Bound<T> | undefined {
    const same = this.#entries.filter((e) => e.address.port === port && e.family === family);
    return same.find((e) => e.address.hostname === hostname) ?? same.find((e) => e.wildcard);
  }

  /** True when binding here would clash (same port and family, same address or either one a wildcard). */
  taken(hostname: string, family: Family, port: number, wildcard: boolean): boolean {
    return this.#entries.some((e) =>
      e.address.port === port && e.family === family && (e.wildcard || wildcard || e.address.hostname === hostname)
    );
  }

  usesPort(port: number): boolean {
    return this.#entries.some((e) => e.address.port === port);
  }

  add(entry: Bound<T>): void {
    this.#entries.push(entry);
  }

  remove(entry: Bound<T>): void {
    this.#entries = this.#entries.filter((e) => e !== entry);
  }
}

interface UdpTarget {
  readonly onDatagram: (datagram: Datagram) => void;
  closed: boolean;
}

/**
 * An in-memory {@link Network}: TCP connections as bounded in-memory byte pipes, UDP datagrams between its own
 * sockets, and a name table for resolution. Nothing leaves the process, and nothing waits for a timer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryNetwork } from "./memory_network.ts";
 * const network = new MemoryNetwork({ names: { "echo.test": ["192.0.2.7"] } });
 * const listener = await network.listen({ hostname: "192.0.2.7", port: 7 }, (connection) => {
 *   void connection.readable.pipeTo(connection.writable); // echo, half-close included
 * });
 * const [address] = await network.resolve("echo.test");
 * const client = await network.connect({ hostname: address, port: 7 });
 * const writer = client.writable.getWriter();
 * await writer.write(new TextEncoder().encode("hello"));
 * await writer.close();
 * assert.equal(await new Response(client.readable).text(), "hello");
 * await assert.rejects(network.connect({ hostname: address, port: 8 }), { code: "connection-refused" });
 * await listener.close();
 * ```
 */
export class MemoryNetwork implements Network {
  readonly #names = new Map<string, string[]>();
  readonly #bufferSize: number;
  readonly #listeners = new PortTable<(connection: Connection) => void>();
  readonly #udp = new PortTable<UdpTarget>();
  #nextPort: number = EPHEMERAL.first;
  readonly #lookups: string[] = [];

  /** Makes an empty network: no listener, no UDP socket, the names of `options.names`. */
  constructor(options: MemoryNetworkOptions = {}) {
    for (const [name, addresses] of Object.entries(options.names ?? {})) {
      const list = typeof addresses === "string" ? [addresses] : [...addresses];
      this.#names.set(normalName(name), list.map((a) => canonical(a) ?? a));
    }
    this.#bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
    if (!(Number.isInteger(this.#bufferSize) && this.#bufferSize >= 1)) {
      throw new SocksError("bad-field", `bufferSize must be a whole number >= 1, not ${options.bufferSize}`);
    }
  }

  /** Every name `resolve` was asked for, in order (IP literals excluded): lets a test see that no lookup happened. */
  get lookups(): readonly string[] {
    return [...this.#lookups];
  }

  /** Connects to a listener; "connection-refused" when none listens there, as the adapters report it. */
  connect(options: ConnectOptions): Promise<Connection> {
    return this.#connect(options, options.localAddress);
  }

  /** Listens on `hostname` (an IP literal or a name of the table); port 0 picks a free ephemeral port. */
  async listen(options: ListenOptions, onConnection: (connection: Connection) => void): Promise<Listener> {
    const entry = await this.#bind(options, this.#listeners, onConnection, "listen");
    return {
      address: entry.address,
      close: () => Promise.resolve(this.#listeners.remove(entry)),
    };
  }

  /** Binds a UDP socket of this network; datagrams to an address nobody bound are dropped, as UDP drops them. */
  bindUdp(options: ListenOptions, onDatagram: (datagram: Datagram) => void): Promise<UdpSocket> {
    return this.#bindUdp(options, onDatagram, undefined);
  }

  /** The addresses of a name in the table; an IP literal resolves to itself. */
  resolve(hostname: string): Promise<string[]> {
    const literal = canonical(hostname);
    if (literal !== undefined) return Promise.resolve([literal]);
    this.#lookups.push(hostname);
    const found = this.#names.get(normalName(hostname));
    if (found === undefined || found.length === 0) {
      return Promise.reject(new SocksError("host-unreachable", `resolve ${hostname}: name not found`));
    }
    return Promise.resolve([...found]);
  }

  /** The first name of the table that holds `address`; "host-unreachable" when none does. */
  reverse(address: string): Promise<string> {
    const wanted = canonical(address);
    for (const [name, addresses] of this.#names) {
      if (wanted !== undefined && addresses.includes(wanted)) return Promise.resolve(name);
    }
    return Promise.reject(new SocksError("host-unreachable", `reverse-resolve ${address}: no name`));
  }

  /**
   * This network as seen from another host: its connections and datagrams come from `hostname` (an IP literal),
   * e.g. to test rules and limits on client addresses. It shares listeners, sockets and names with this one.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MemoryNetwork } from "./memory_network.ts";
   * const network = new MemoryNetwork();
   * const seen: string[] = [];
   * await network.listen({ hostname: "0.0.0.0", port: 80 }, (c) => seen.push(c.remoteAddress.hostname));
   * const client = await network.from("203.0.113.9").connect({ hostname: "192.0.2.1", port: 80 });
   * assert.equal(client.localAddress.hostname, "203.0.113.9");
   * assert.deepEqual(seen, ["203.0.113.9"]);
   * ```
   */
  from(hostname: string): Network {
    const source = canonical(hostname);
    if (source === undefined) throw new SocksError("bad-address", `"${hostname}" is not an IP address`);
    return {
      connect: (options) => this.#connect(options, source),
      listen: (options, onConnection) => this.listen(options, onConnection),
      bindUdp: (options, onDatagram) => this.#bindUdp(options, onDatagram, source),
      resolve: (name) => this.resolve(name),
      reverse: (address) => this.reverse(address),
    };
  }

  async #connect(options: ConnectOptions, source: string | undefined): Promise<Connection> {
    const { port, signal } = options;
    const what = `connect ${formatEndpoint({ hostname: options.hostname, port })}`;
    if (signal?.aborted) throw toSocksError(signal.reason, what);
    const [hostname] = await this.#addressesOf(options.hostname, what);
    // The attempt is in progress until it resolves: an abort meanwhile wins, as it does in the adapters.
    if (signal?.aborted) throw toSocksError(signal.reason, what);
    const family = familyOf(hostname);
    if (source !== undefined && familyOf(source) !== family) {
      throw new SocksError("network-unreachable", `${what}: no route from ${source}`);
    }
    const listener = this.#listeners.find(hostname, family, port);
    if (listener === undefined) throw new SocksError("connection-refused", `${what}: connection refused`);
    const serverAddress = { hostname, port };
    const clientAddress = { hostname: source ?? hostname, port: this.#ephemeralPort(false) };
    const up = new Pipe(this.#bufferSize);
    const down = new Pipe(this.#bufferSize);
    const served = connectionEnd(up, down, serverAddress, clientAddress);
    // Accepting happens after connect() returns, as a real accept does: the listener never runs inside connect().
    queueMicrotask(() => listener.target(served));
    return connectionEnd(down, up, clientAddress, serverAddress);
  }

  async #bindUdp(
    options: ListenOptions,
    onDatagram: (datagram: Datagram) => void,
    source: string | undefined,
  ): Promise<UdpSocket> {
    const entry = await this.#bind(options, this.#udp, { onDatagram, closed: false }, "bind UDP");
    return {
      address: entry.address,
      send: (data, to) => {
        const what = `send UDP to ${to.hostname}:${to.port}`;
        if (entry.target.closed) return Promise.reject(closedError(what));
        const hostname = canonical(to.hostname);
        if (hostname === undefined) return Promise.reject(new SocksError("bad-address", `${what}: not an IP`));
        const family = familyOf(hostname);
        if (family !== entry.family) {
          return Promise.reject(new SocksError("network-unreachable", `${what}: wrong address family`));
        }
        if (data.length > MAX_DATAGRAM[family]) {
          return Promise.reject(new SocksError("too-long", `${what}: ${data.length} bytes is more than a datagram`));
        }
        const receiver = this.#udp.find(hostname, family, to.port);
        if (receiver !== undefined) {
          // A socket on a wildcard address sends from the address the datagram goes to: one host owns them all.
          const fromHost = entry.wildcard ? source ?? hostname : entry.address.hostname;
          const datagram = { data: data.slice(), from: { hostname: fromHost, port: entry.address.port } };
          // Delivered after send() returns, in send order, as the kernel would.
          queueMicrotask(() => {
            if (!receiver.target.closed) receiver.target.onDatagram(datagram);
          });
        }
        return Promise.resolve();
      },
      close: () => {
        if (entry.target.closed) return;
        entry.target.closed = true;
        this.#udp.remove(entry);
      },
    };
  }

  async #bind<T>(options: ListenOptions, table: PortTable<T>, target: T, verb: string): Promise<Bound<T>> {
    const what = `${verb} ${options.hostname}:${options.port}`;
    const [hostname] = await this.#addressesOf(options.hostname, what);
    const family = familyOf(hostname);
    const wildcard = hostname === "0.0.0.0" || hostname === "::";
    if (!(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)) {
      throw new SocksError("bad-port", `${what}: no such port`);
    }
    const port = options.port === 0 ? this.#ephemeralPort(true) : options.port;
    if (table.taken(hostname, family, port, wildcard)) throw new SocksError("failed", `${what}: address in use`);
    const entry: Bound<T> = { address: { hostname, port }, family, wildcard, target };
    table.add(entry);
    return entry;
  }

  /** An IP literal as itself, a name through the table (as the adapters' system resolver would). */
  async #addressesOf(hostname: string, what: string): Promise<string[]> {
    const literal = canonical(hostname);
    if (literal !== undefined) return [literal];
    try {
      return await this.resolve(hostname);
    } catch (error) {
      throw toSocksError(error, what);
    }
  }

  /**
   * The next ephemeral port; for a bind, one no listener or UDP socket holds on any address (unique ports keep test
   * output readable). A connection's own port may repeat a bound one, as it may in TCP.
   */
  #ephemeralPort(forBind: boolean): number {
    const span = EPHEMERAL.last - EPHEMERAL.first + 1;
    for (let tries = 0; tries < span; tries++) {
      const port = this.#nextPort;
      this.#nextPort = port === EPHEMERAL.last ? EPHEMERAL.first : port + 1;
      if (!forBind || (!this.#listeners.usesPort(port) && !this.#udp.usesPort(port))) return port;
    }
    throw new SocksError("failed", "no free ephemeral port");
  }
}

/** The canonical text of an IP literal (brackets dropped, IPv4-mapped folded), or undefined for a name. */
function canonical(hostname: string): string | undefined {
  return ipAddress(hostname)?.host;
}

function familyOf(canonicalIp: string): Family {
  return canonicalIp.includes(":") ? "ipv6" : "ipv4";
}

function normalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}
