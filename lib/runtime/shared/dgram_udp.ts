/**
 * UDP sockets through `node:dgram`, which Deno, Bun and Node all implement (Deno's own `listenDatagram` still needs
 * `--unstable-net`). Shared by the adapters.
 *
 * @module
 */
import type dgramModule from "node:dgram";
import type netModule from "node:net";
import type { Datagram, ListenOptions, UdpSocket } from "../../net/network.ts";
import { toSocksError } from "../../net/net_error.ts";
import { builtinModule } from "./builtin_module.ts";

/** Binds a UDP socket and hands every datagram to `onDatagram`. */
export function bindUdp(options: ListenOptions, onDatagram: (datagram: Datagram) => void): Promise<UdpSocket> {
  const dgram = builtinModule<typeof dgramModule>("node:dgram");
  const { isIPv6 } = builtinModule<typeof netModule>("node:net");
  // ipv6Only keeps "::" from also taking IPv4 (each family gets its own socket); Node refuses it on udp4.
  const socket = isIPv6(options.hostname)
    ? dgram.createSocket({ type: "udp6", ipv6Only: true })
    : dgram.createSocket({ type: "udp4" });
  return new Promise((resolve, reject) => {
    socket.once("error", (error) => reject(toSocksError(error, `bind UDP ${options.hostname}:${options.port}`)));
    socket.bind({ address: options.hostname, port: options.port }, () => {
      socket.removeAllListeners("error");
      // A UDP send error (e.g. ICMP unreachable reported on a later call) must not kill the process.
      socket.on("error", () => {});
      socket.on("message", (message: Uint8Array, info: { address: string; port: number }) => {
        onDatagram({ data: message, from: { hostname: info.address, port: info.port } });
      });
      const bound = socket.address();
      let closed = false;
      resolve({
        address: { hostname: bound.address, port: bound.port },
        send: (data, to) =>
          new Promise((done, fail) => {
            socket.send(data, to.port, to.hostname, (error) => {
              if (error) fail(toSocksError(error, `send UDP to ${to.hostname}:${to.port}`));
              else done();
            });
          }),
        close: () => {
          if (closed) return;
          closed = true;
          socket.close();
        },
      });
    });
  });
}
