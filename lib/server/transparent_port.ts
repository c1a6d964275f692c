/**
 * The transparent port of `tabi run`: connections captured by a TPROXY rule arrive here with their destination as
 * their local address (lib/runtime/transparent.ts makes the listener able to take them). An address the DNS port
 * mapped is turned back into its name; an address in a mapped range that no name has is refused (closed); anything
 * else goes on as the literal address it is. Each is then carried through `open`, the route to the exit.
 *
 * @module
 */
import { endpointToHostPort } from "../net/endpoint.ts";
import type { Connection, Endpoint, Listener, ListenOptions, Network } from "../net/network.ts";
import { relay } from "../relay.ts";
import type { HostPort } from "../wire/address.ts";
import type { NameMap } from "./name_map.ts";

/** A connection's way on: the byte streams to the destination, and how to end them. */
export interface TransparentRoute {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  close(): void;
}

/** A running transparent port. */
export interface TransparentPort {
  /** Where it listens (one per family; the port is the same). */
  readonly addresses: readonly Endpoint[];
  /** Stops listening and ends every open connection. */
  close(): Promise<void>;
}

/**
 * Where a captured connection was going: the name when the address is mapped, the address itself when it is not
 * in a mapped range, undefined for a mapped range's address that no name has.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NameMap } from "./name_map.ts";
 * import { capturedDestination } from "./transparent_port.ts";
 * const map = new NameMap();
 * const host = map.addressFor("example.org", "ipv4")!;
 * assert.deepEqual(capturedDestination(map, { hostname: host, port: 80 })?.address, { type: "domain", host: "example.org" });
 * assert.equal(capturedDestination(map, { hostname: "127.192.9.9", port: 80 }), undefined);
 * assert.deepEqual(capturedDestination(map, { hostname: "192.0.2.1", port: 80 })?.address, { type: "ipv4", host: "192.0.2.1" });
 * ```
 */
export function capturedDestination(nameMap: NameMap, local: Endpoint): HostPort | undefined {
  if (!nameMap.inRange(local.hostname)) return endpointToHostPort(local);
  const name = nameMap.nameFor(local.hostname);
  return name === undefined ? undefined : { address: { type: "domain", host: name }, port: local.port };
}

/**
 * Listens on each of `listen` (the same port for all; port 0 in the first picks it) and carries every connection to
 * its captured destination through `open`. A name is held in the map while its connection is open.
 */
export async function startTransparentPort(
  network: Network,
  listen: readonly ListenOptions[],
  nameMap: NameMap,
  open: (destination: HostPort) => Promise<TransparentRoute>,
  onError: (destination: HostPort | undefined, error: unknown) => void = () => {},
): Promise<TransparentPort> {
  const live = new Set<Connection>();
  const onConnection = (connection: Connection) => {
    const destination = capturedDestination(nameMap, connection.localAddress);
    if (destination === undefined) {
      onError(undefined, new Error(`${connection.localAddress.hostname} is mapped to no name`));
      return connection.close();
    }
    const name = destination.address.type === "domain" ? destination.address.host : undefined;
    if (name !== undefined) nameMap.acquire(name);
    live.add(connection);
    void (async () => {
      try {
        const route = await open(destination);
        await relay(
          { readable: connection.readable, writable: connection.writable, close: () => connection.close() },
          { readable: route.readable, writable: route.writable, close: () => route.close() },
        );
      } catch (error) {
        onError(destination, error);
      } finally {
        connection.close();
        live.delete(connection);
        if (name !== undefined) nameMap.release(name);
      }
    })();
  };
  const listeners: Listener[] = [];
  try {
    for (const options of listen) {
      const port = listeners.length === 0 ? options.port : listeners[0].address.port;
      listeners.push(await network.listen({ ...options, port }, onConnection));
    }
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close()));
    throw error;
  }
  return {
    addresses: listeners.map((l) => l.address),
    async close() {
      await Promise.all(listeners.map((l) => l.close()));
      for (const connection of live) connection.close();
    },
  };
}
