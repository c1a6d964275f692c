/** Uploads through a proxy to a sink on loopback, for the quota tests: how many bytes got through. */
import { connect } from "../../lib/client/connect.ts";
import { network } from "./net.ts";

/** Sends `bytes` through a SOCKS5 tunnel to a sink; resolves with what the sink received. */
export async function upload(proxy: string, bytes: number): Promise<number> {
  let received!: (n: number) => void;
  const got = new Promise<number>((resolve) => (received = resolve));
  const sink = await network.listen({ hostname: "127.0.0.1", port: 0 }, async (connection) => {
    let n = 0;
    try {
      for await (const chunk of connection.readable) n += chunk.length;
    } catch { /* cut at the quota */ }
    connection.close();
    received(n);
  });
  try {
    const tunnel = await connect(proxy, `127.0.0.1:${sink.address.port}`, { network });
    const writer = tunnel.writable.getWriter();
    try {
      await writer.write(new Uint8Array(bytes));
      await writer.close();
      for await (const _ of tunnel.readable) { /* until the sink closes */ }
    } catch { /* cut at the quota */ }
    tunnel.close();
    return await got;
  } finally {
    await sink.close();
  }
}
