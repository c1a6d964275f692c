// The floor of Node for the bench (`bare-node`): a SOCKS5 server that does only what every tunnel of the `rate`
// and `tput` figures needs (no-authentication greeting, CONNECT to an IPv4 address, a reply with the bound
// address, a relay with half-close) on `node:net` sockets, relaying with `pipe()`, with no rule, limit, log, timer
// or stream. What tabi adds on top of it is what tabi costs; what this costs is what Node itself costs, so a target
// that this misses too is out of reach of any server written for the runtime. Not a product: no IPv6, names, auth
// or BIND.
// Usage: node bench/peers/bare_socks5_node.mjs PORT
import net from "node:net";

const port = Number(process.argv[2]);
const NO_AUTH = Buffer.from([5, 0]);
const NO_ACCEPTABLE_METHOD = Buffer.from([5, 0xff]);

function reply(code, socket) {
  const out = Buffer.alloc(10);
  out.set([5, code, 0, 1]);
  if (socket) {
    out.set(socket.localAddress.split(".").map(Number), 4);
    out.writeUInt16BE(socket.localPort, 8);
  }
  return out;
}

net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
  let pending = Buffer.alloc(0);
  let greeted = false;
  client.on("error", () => client.destroy());
  const onData = (chunk) => {
    pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    if (!greeted) {
      if (pending.length < 2 || pending.length < 2 + pending[1]) return;
      const methods = pending.subarray(2, 2 + pending[1]);
      if (pending[0] !== 5 || !methods.includes(0)) return void client.end(NO_ACCEPTABLE_METHOD);
      pending = pending.subarray(2 + pending[1]);
      greeted = true;
      client.write(NO_AUTH);
    }
    if (pending.length < 4) return;
    if (pending[1] !== 1 || pending[3] !== 1) return void client.end(reply(pending[1] !== 1 ? 7 : 8));
    if (pending.length < 10) return;
    client.off("data", onData);
    client.pause();
    const rest = pending.subarray(10);
    const target = net.connect({
      host: pending.subarray(4, 8).join("."),
      port: pending.readUInt16BE(8),
      allowHalfOpen: true,
    });
    target.setNoDelay(true);
    target.once("error", (error) => client.end(reply(error.code === "ECONNREFUSED" ? 5 : 1)));
    target.once("connect", () => {
      target.removeAllListeners("error");
      target.on("error", () => client.destroy());
      client.on("error", () => target.destroy());
      client.write(reply(0, target));
      if (rest.length > 0) target.write(rest);
      client.pipe(target);
      target.pipe(client);
      client.on("close", () => target.destroy());
      target.on("close", () => client.destroy());
    });
  };
  client.on("data", onData);
}).listen(port, "127.0.0.1");
