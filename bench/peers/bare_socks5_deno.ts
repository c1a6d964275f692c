// The floor of Deno for the bench (`bare-deno`): a SOCKS5 server that does only what every tunnel of the `rate`
// and `tput` figures needs (no-authentication greeting, CONNECT to an IPv4 address, a reply with the bound
// address, a relay with half-close) over `Deno.Conn` reads and writes, with no rule, limit, log, timer or stream.
// What tabi adds on top of it is what tabi costs; what this costs is what Deno itself costs, so a target that this
// misses too is out of reach of any server written for the runtime. Not a product: no IPv6, names, auth or BIND.
// Usage: deno run -A bench/peers/bare_socks5_deno.ts PORT
import {
  connectFailure,
  NO_ACCEPTABLE_METHOD,
  NO_AUTH,
  readGreeting,
  readRequest,
  reply,
} from "./bare_socks5_wire.mjs";

const port = Number(Deno.args[0]);
const listener = Deno.listen({ hostname: "127.0.0.1", port });
// The relay's buffer per direction starts small (zeroing 64 KiB twice per tunnel costs more than a short tunnel's
// whole relay) and grows fourfold on every full read, up to what a bulk transfer wants.
const FIRST_BUFFER = 1024;
const LAST_BUFFER = 64 * 1024;

/** Reads into `buffer` behind the `have` bytes already there until `judge` can tell what they hold. */
async function readUntil<T>(
  conn: Deno.Conn,
  buffer: Uint8Array,
  have: number,
  judge: (bytes: Uint8Array) => T | undefined,
): Promise<{ value: T; have: number }> {
  for (;;) {
    const value = judge(buffer.subarray(0, have));
    if (value !== undefined) return { value, have };
    const n = await conn.read(buffer.subarray(have));
    if (n === null) throw new Error("closed during the handshake");
    have += n;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
}

/** One direction: copies until the end, then passes the FIN on. */
async function pump(from: Deno.TcpConn, to: Deno.TcpConn, first: Uint8Array): Promise<void> {
  if (first.length > 0) await writeAll(to, first);
  let buffer = new Uint8Array(FIRST_BUFFER);
  for (;;) {
    const n = await from.read(buffer);
    if (n === null) break;
    await writeAll(to, buffer.subarray(0, n));
    if (n === buffer.length && n < LAST_BUFFER) buffer = new Uint8Array(n * 4);
  }
  await to.closeWrite();
}

async function serve(client: Deno.TcpConn): Promise<void> {
  let target: Deno.TcpConn | undefined;
  try {
    const buffer = new Uint8Array(512);
    const greeting = await readUntil(client, buffer, 0, readGreeting);
    if (!greeting.value.acceptable) {
      await writeAll(client, NO_ACCEPTABLE_METHOD);
      return client.close();
    }
    await writeAll(client, NO_AUTH);
    const start = greeting.value.length;
    const { value: request, have } = await readUntil(
      client,
      buffer,
      greeting.have,
      (bytes) => readRequest(bytes.subarray(start)),
    );
    if (request.refusal) {
      await writeAll(client, request.refusal);
      return client.close();
    }
    try {
      target = await Deno.connect({ hostname: request.host, port: request.port });
    } catch (error) {
      await writeAll(client, connectFailure(error instanceof Deno.errors.ConnectionRefused));
      return client.close();
    }
    target.setNoDelay(true);
    await writeAll(client, reply(0, target.localAddr.hostname, target.localAddr.port));
    const rest = buffer.slice(start + request.length, have);
    await Promise.all([pump(client, target, rest), pump(target, client, new Uint8Array())]);
  } catch {
    // A reset or an early close: the tunnel is over.
  }
  client.close();
  target?.close();
}

for await (const client of listener) {
  client.setNoDelay(true);
  serve(client);
}
