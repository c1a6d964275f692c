// The floor of Deno for the bench (`bare-deno`): a SOCKS5 server that does only what every tunnel of the `rate`
// and `tput` figures needs (no-authentication greeting, CONNECT to an IPv4 address, a reply with the bound
// address, a relay with half-close) over `Deno.Conn` reads and writes, with no rule, limit, log, timer or stream.
// What tabi adds on top of it is what tabi costs; what this costs is what Deno itself costs, so a target that this
// misses too is out of reach of any server written for the runtime. Not a product: no IPv6, names, auth or BIND.
// Usage: deno run -A bench/peers/bare_socks5_deno.ts PORT
const port = Number(Deno.args[0]);
const listener = Deno.listen({ hostname: "127.0.0.1", port });
const NO_AUTH = new Uint8Array([5, 0]);
const NO_ACCEPTABLE_METHOD = new Uint8Array([5, 0xff]);
// The relay's buffer per direction starts small (zeroing 64 KiB twice per tunnel costs more than a short tunnel's
// whole relay) and grows fourfold on every full read, up to what a bulk transfer wants.
const FIRST_BUFFER = 1024;
const LAST_BUFFER = 64 * 1024;

/** Reads into `buffer` until it holds `want` bytes; `have` are already there. */
async function fill(conn: Deno.Conn, buffer: Uint8Array, have: number, want: number): Promise<number> {
  while (have < want) {
    const n = await conn.read(buffer.subarray(have));
    if (n === null) throw new Error("closed during the handshake");
    have += n;
  }
  return have;
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

function reply(code: number, bound?: Deno.NetAddr): Uint8Array {
  const out = new Uint8Array(10);
  out.set([5, code, 0, 1]);
  if (bound) {
    out.set(bound.hostname.split(".").map(Number), 4);
    out[8] = bound.port >> 8;
    out[9] = bound.port & 0xff;
  }
  return out;
}

async function serve(client: Deno.TcpConn): Promise<void> {
  let target: Deno.TcpConn | undefined;
  try {
    const buffer = new Uint8Array(512);
    let have = await fill(client, buffer, 0, 2);
    const greeting = 2 + buffer[1];
    have = await fill(client, buffer, have, greeting);
    if (buffer[0] !== 5 || !buffer.subarray(2, greeting).includes(0)) {
      await writeAll(client, NO_ACCEPTABLE_METHOD);
      return client.close();
    }
    await writeAll(client, NO_AUTH);
    have = await fill(client, buffer, have, greeting + 4);
    const request = buffer.subarray(greeting);
    if (request[1] !== 1 || request[3] !== 1) {
      await writeAll(client, reply(request[1] !== 1 ? 7 : 8));
      return client.close();
    }
    have = await fill(client, buffer, have, greeting + 10);
    const hostname = request.subarray(4, 8).join(".");
    try {
      target = await Deno.connect({ hostname, port: request[8] << 8 | request[9] });
    } catch (error) {
      await writeAll(client, reply(error instanceof Deno.errors.ConnectionRefused ? 5 : 1));
      return client.close();
    }
    target.setNoDelay(true);
    await writeAll(client, reply(0, target.localAddr));
    await Promise.all([
      pump(client, target, buffer.slice(greeting + 10, have)),
      pump(target, client, new Uint8Array()),
    ]);
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
