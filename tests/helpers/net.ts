/** Test helpers over the running runtime's Network: raw clients, echo targets, servers. */
import { ByteReader } from "../../lib/io/byte_reader.ts";
import type { Connection, Endpoint, Listener, Network } from "../../lib/net/network.ts";
import { isLoopback } from "../../lib/net/endpoint.ts";
import { defaultNetwork } from "../../lib/runtime/detect.ts";
import type { HostPort } from "../../lib/wire/address.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request, type Socks5ReplyMessage } from "../../lib/wire/socks5_request.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";
import { concat } from "./bytes.ts";
import type { ServerOptions } from "../../lib/server/config.ts";
import type { ConnectionRecord } from "../../lib/server/connection_record.ts";
import { type SocksServer, startServer } from "../../lib/server/server.ts";

export const network: Network = await defaultNetwork();

/** A raw client connection with a ByteReader on its readable and a writer on its writable. */
export interface RawClient {
  readonly connection: Connection;
  readonly reader: ByteReader;
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  send(bytes: Uint8Array | number[]): Promise<void>;
  /** Reads until the peer closes; returns everything read. */
  readToEnd(): Promise<Uint8Array>;
  close(): void;
}

export async function rawClient(to: Endpoint): Promise<RawClient> {
  const connection = await network.connect(to);
  const reader = new ByteReader(connection.readable);
  const writer = connection.writable.getWriter();
  return {
    connection,
    reader,
    writer,
    send: (bytes) => writer.write(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)),
    async readToEnd() {
      const parts: number[] = [];
      try {
        for (;;) parts.push(await reader.readByte());
      } catch {
        // The end (or a reset): return what arrived.
      }
      return new Uint8Array(parts);
    },
    close: () => connection.close(),
  };
}

/**
 * Opens a SOCKS5 no-auth CONNECT to `destination` through the server at `server`; returns the client and the
 * server's reply. `extra` bytes go in the same write, right behind the request.
 */
export async function socks5Connect(
  server: Endpoint,
  destination: HostPort,
  extra: Uint8Array = new Uint8Array(),
): Promise<{ client: RawClient; reply: Socks5ReplyMessage }> {
  const client = await rawClient(server);
  await client.send(
    concat(encodeSocks5Greeting({ methods: [0] }), encodeSocks5Request({ command: 1, destination }), extra),
  );
  const selection = await client.reader.read(decodeSocks5MethodSelection);
  if (selection.method !== 0) throw new Error(`the server chose method ${selection.method}, not no-auth`);
  return { client, reply: await client.reader.read(decodeSocks5Reply) };
}

/** True if the peer closes (EOF or reset) within `ms`. */
export async function closesWithin(client: RawClient, ms: number): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), ms));
  const closed = client.readToEnd().then(() => true);
  return await Promise.race([closed, timeout]);
}

/** An echo server on 127.0.0.1 (or `hostname`): echoes until EOF, then half-closes. */
export async function echoServer(hostname = "127.0.0.1"): Promise<Listener & { accepted: Connection[] }> {
  const accepted: Connection[] = [];
  const listener = await network.listen({ hostname, port: 0 }, (connection) => {
    accepted.push(connection);
    connection.readable.pipeTo(connection.writable).catch(() => {}).finally(() => connection.close());
  });
  return Object.assign(listener, { accepted });
}

/** A port on 127.0.0.1 where nothing listens (so connecting is refused). */
export async function closedPort(): Promise<number> {
  const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, (c) => c.close());
  await listener.close();
  return listener.address.port;
}

/** Starts a server on 127.0.0.1:0 that records every connection's log record. */
export async function testServer(
  options: ServerOptions = {},
): Promise<SocksServer & { endpoint: Endpoint; records: ConnectionRecord[]; nextRecord(): Promise<ConnectionRecord> }> {
  const records: ConnectionRecord[] = [];
  const waiters: ((r: ConnectionRecord) => void)[] = [];
  const server = await startServer({
    listen: [{ hostname: "127.0.0.1", port: 0 }],
    network,
    ...options,
    onConnectionEnd: (record) => {
      records.push(record);
      waiters.shift()?.(record);
    },
  });
  let seen = 0;
  return Object.assign(server, {
    endpoint: server.addresses[0],
    records,
    nextRecord: () => {
      const index = seen++;
      if (index < records.length) return Promise.resolve(records[index]);
      return new Promise<ConnectionRecord>((resolve) => waiters.push(resolve));
    },
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until something accepts TCP connections on 127.0.0.1:`port` (a daemon finished starting). */
export async function waitForPort(port: number, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await network.connect({ hostname: "127.0.0.1", port });
      connection.close();
      return;
    } catch {
      if (Date.now() > until) throw new Error(`${what} did not start listening on port ${port}`);
      await sleep(50);
    }
  }
}

/**
 * A Network that reaches nothing but loopback: connects and datagrams to other addresses fail with the runtime's
 * "network unreachable", and only `localhost` resolves. Fuzzed and generated requests name random destinations;
 * this keeps every byte of a test on 127.0.0.0/8 and ::1, and every name lookup off the real DNS.
 */
export function loopbackOnly(inner: Network = network): Network {
  const unreachable = (what: string) => new SocksError("network-unreachable", `${what}: not loopback (test network)`);
  return {
    connect: (options) =>
      isLoopback(options.hostname) ? inner.connect(options) : Promise.reject(unreachable(options.hostname)),
    listen: (options, onConnection) => inner.listen(options, onConnection),
    async bindUdp(options, onDatagram) {
      const socket = await inner.bindUdp(options, onDatagram);
      return {
        address: socket.address,
        send: (data, to) => isLoopback(to.hostname) ? socket.send(data, to) : Promise.reject(unreachable(to.hostname)),
        close: () => socket.close(),
      };
    },
    resolve: (name) =>
      name.toLowerCase() === "localhost" || isLoopback(name)
        ? inner.resolve(name)
        : Promise.reject(new SocksError("host-unreachable", `${name}: not resolved (test network)`)),
    reverse: (address) =>
      isLoopback(address)
        ? inner.reverse(address)
        : Promise.reject(new SocksError("host-unreachable", `${address}: not resolved (test network)`)),
  };
}
