// The bench's streams floor (`streams-deno`, `streams-bun`, `streams-node`): the bare server's SOCKS5 subset, but
// on tabi's own I/O: the runtime's adapter (lib/runtime), the handshake read with a ByteReader from the connection's
// WHATWG readable and answered through a writer of its writable, as tabi's session does it, the lib/wire codecs, and
// lib/relay.ts (which hands two sockets of one adapter to the native relay). Nothing else of tabi: no rule, limit,
// timer, log or metric. Between the bare server and this one lies the cost of the handshake on WHATWG streams;
// between this one and tabi, everything else tabi does per connection. Not a product: CONNECT to IPv4 only.
// Usage: deno run -A bench/peers/streams_socks5.ts PORT   (bun runs it as it is; node runs the bench's bundle of it)
import process from "node:process";
import { ByteReader } from "../../lib/io/byte_reader.ts";
import type { Connection } from "../../lib/net/network.ts";
import { relay } from "../../lib/relay.ts";
import { defaultNetwork } from "../../lib/runtime/detect.ts";
import { decodeSocks5Greeting, encodeSocks5MethodSelection } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Request, encodeSocks5Reply } from "../../lib/wire/socks5_request.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";

const network = await defaultNetwork();
const NO_ADDRESS = { address: { type: "ipv4" as const, host: "0.0.0.0" }, port: 0 };

async function serve(client: Connection): Promise<void> {
  const reader = new ByteReader(client.readable);
  const writer = client.writable.getWriter();
  await reader.peekByte();
  const greeting = await reader.read(decodeSocks5Greeting);
  if (!greeting.methods.includes(0)) {
    await writer.write(encodeSocks5MethodSelection({ method: 0xff }));
    return client.close();
  }
  // As tabi's session: the method selection is not waited for before the request is read.
  const selected = writer.write(encodeSocks5MethodSelection({ method: 0 }));
  const request = await reader.read(decodeSocks5Request);
  await selected;
  const { address, port } = request.destination;
  if (request.command !== 1 || address.type !== "ipv4") {
    await writer.write(encodeSocks5Reply({ reply: request.command !== 1 ? 7 : 8, bound: NO_ADDRESS }));
    return client.close();
  }
  let target: Connection;
  try {
    target = await network.connect({ hostname: address.host, port });
  } catch (error) {
    const refused = error instanceof SocksError && error.code === "connection-refused";
    await writer.write(encodeSocks5Reply({ reply: refused ? 5 : 1, bound: NO_ADDRESS }));
    return client.close();
  }
  const bound = target.localAddress;
  await writer.write(
    encodeSocks5Reply({ reply: 0, bound: { address: { type: "ipv4", host: bound.hostname }, port: bound.port } }),
  );
  const { leftover, reader: locked } = reader.detach();
  await relay({
    readable: client.readable,
    writable: client.writable,
    leftover,
    reader: locked,
    writer,
    close: () => client.close(),
    native: client.native,
  }, target);
}

await network.listen({ hostname: "127.0.0.1", port: Number(process.argv[process.argv.length - 1]) }, (client) => {
  serve(client).catch(() => client.close());
});
