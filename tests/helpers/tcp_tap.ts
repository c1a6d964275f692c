/**
 * A TCP relay for tests that records every byte crossing it each way, so a test can look at what is on the wire.
 */
import type { Endpoint } from "../../lib/net/network.ts";
import { concat } from "./bytes.ts";
import { network } from "./net.ts";

/** A running tap. */
export interface TcpTap {
  readonly address: Endpoint;
  /** Everything the clients sent, joined. */
  upstream(): Uint8Array;
  /** Everything the server sent, joined (swallowed bytes included). */
  downstream(): Uint8Array;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 and relays each connection to `target`, recording both directions. */
export async function tcpTap(target: Endpoint): Promise<TcpTap> {
  const up: Uint8Array[] = [];
  const down: Uint8Array[] = [];
  const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, async (client) => {
    const clientWriter = client.writable.getWriter();
    try {
      const server = await network.connect(target);
      const pump = async (
        from: ReadableStream<Uint8Array>,
        to: WritableStreamDefaultWriter<Uint8Array>,
        log: Uint8Array[],
      ) => {
        try {
          for await (const chunk of from) {
            log.push(chunk.slice());
            await to.write(chunk);
          }
          await to.close();
        } catch {
          client.close();
          server.close();
        }
      };
      await Promise.all([
        pump(client.readable, server.writable.getWriter(), up),
        pump(server.readable, clientWriter, down),
      ]);
      client.close();
      server.close();
    } catch {
      client.close();
    }
  });
  return {
    address: listener.address,
    upstream: () => concat(...up),
    downstream: () => concat(...down),
    close: () => listener.close(),
  };
}
