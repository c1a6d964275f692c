/** A throwaway TCP server on 127.0.0.1 (node:net, which every runtime has) that tests script per connection. */
import net from "node:net";

/** A listening test server: its port, and close() that also destroys every connection it holds. */
export interface TestTcpServer {
  readonly port: number;
  close(): void;
}

/** Listens on 127.0.0.1 (a free port) and runs `behave` on each connection. */
export function tcpServer(
  behave: (socket: net.Socket) => void,
  options: { readonly allowHalfOpen?: boolean } = {},
): Promise<TestTcpServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: options.allowHalfOpen ?? false }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    behave(socket);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }));
  });
}
