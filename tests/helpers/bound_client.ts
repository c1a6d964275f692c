/**
 * A SOCKS5 client whose socket is bound to a chosen loopback source address (127.0.0.x), so that one test can be
 * many clients. node:net, which all three runtimes provide with `localAddress`.
 */
import net from "node:net";

/** An open tunnel (or a refused attempt) from a bound source address. */
export interface BoundTunnel {
  /** The client's own address and port, as the proxy (or a balancer) sees it. */
  readonly local: string;
  /** The SOCKS5 reply code; undefined when the proxy closed without one. */
  readonly reply: number | undefined;
  /** Sends bytes and resolves with as many bytes read back. */
  echo(bytes: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

/** Bytes read from `socket` until `n` have arrived (or it closes: then fewer). */
function reader(socket: net.Socket) {
  let buffered = new Uint8Array();
  let wake: (() => void) | undefined;
  let ended = false;
  socket.on("data", (chunk: Uint8Array) => {
    const next = new Uint8Array(buffered.length + chunk.length);
    next.set(buffered);
    next.set(chunk, buffered.length);
    buffered = next;
    wake?.();
  });
  const end = () => {
    ended = true;
    wake?.();
  };
  socket.on("end", end);
  socket.on("close", end);
  socket.on("error", end);
  return async (n: number): Promise<Uint8Array> => {
    while (buffered.length < n && !ended) await new Promise<void>((resolve) => (wake = resolve));
    const out = buffered.subarray(0, Math.min(n, buffered.length));
    buffered = buffered.subarray(out.length);
    return out;
  };
}

/**
 * Opens a SOCKS5 no-auth (or username/password) CONNECT to 127.0.0.1:`targetPort` through `proxyPort`, from
 * `source`; `prefix` bytes (a PROXY header) go first, in the same write.
 */
export function boundSocks5(
  proxyPort: number,
  source: string,
  targetPort: number,
  options: { prefix?: Uint8Array; user?: [string, string] } = {},
): Promise<BoundTunnel> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port: proxyPort, localAddress: source });
    socket.once("error", reject);
    socket.once("connect", async () => {
      socket.removeListener("error", reject);
      const read = reader(socket);
      const request = [5, 1, 0, 1, 127, 0, 0, 1, targetPort >> 8, targetPort & 0xff];
      const enc = new TextEncoder();
      const auth = options.user
        ? [1, ...[options.user[0], options.user[1]].flatMap((s) => [enc.encode(s).length, ...enc.encode(s)])]
        : [];
      const greeting = options.user ? [5, 1, 2] : [5, 1, 0];
      socket.write(new Uint8Array([...(options.prefix ?? []), ...greeting, ...auth, ...request]));
      const local = `${socket.localAddress}:${socket.localPort}`;
      const tunnel = (reply: number | undefined): BoundTunnel => ({
        local,
        reply,
        echo: (bytes) => {
          socket.write(bytes);
          return read(bytes.length);
        },
        close: () => socket.destroy(),
      });
      const selection = await read(2);
      if (selection.length < 2) return resolve(tunnel(undefined));
      if (options.user) {
        const status = await read(2);
        if (status.length < 2 || status[1] !== 0) return resolve(tunnel(undefined));
      }
      const reply = await read(10);
      resolve(tunnel(reply.length < 10 ? undefined : reply[1]));
    });
  });
}
