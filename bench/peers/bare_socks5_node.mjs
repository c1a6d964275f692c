// The floor of Node for the bench (`bare-node`): a SOCKS5 server that does only what every tunnel of the `rate`
// and `tput` figures needs (no-authentication greeting, CONNECT to an IPv4 address, a reply with the bound
// address, a relay with half-close) on `node:net` sockets, relaying with `pipe()`, with no rule, limit, log, timer
// or stream. What tabi adds on top of it is what tabi costs; what this costs is what Node itself costs, so a target
// that this misses too is out of reach of any server written for the runtime. Not a product: no IPv6, names, auth
// or BIND.
// Usage: node bench/peers/bare_socks5_node.mjs PORT
import net from "node:net";
import {
  connectFailure,
  NO_ACCEPTABLE_METHOD,
  NO_AUTH,
  readGreeting,
  readRequest,
  reply,
} from "./bare_socks5_wire.mjs";

const port = Number(process.argv[2]);

net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
  let pending = new Uint8Array(0);
  let greeted = false;
  client.on("error", () => client.destroy());
  const onData = (chunk) => {
    pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    if (!greeted) {
      const greeting = readGreeting(pending);
      if (greeting === undefined) return;
      if (!greeting.acceptable) return void client.end(NO_ACCEPTABLE_METHOD);
      pending = pending.subarray(greeting.length);
      greeted = true;
      client.write(NO_AUTH);
    }
    const request = readRequest(pending);
    if (request === undefined) return;
    if (request.refusal) return void client.end(request.refusal);
    client.off("data", onData);
    client.pause();
    const rest = pending.subarray(request.length);
    const target = net.connect({ host: request.host, port: request.port, allowHalfOpen: true });
    target.setNoDelay(true);
    target.once("error", (error) => client.end(connectFailure(error.code === "ECONNREFUSED")));
    target.once("connect", () => {
      target.removeAllListeners("error");
      target.on("error", () => client.destroy());
      client.on("error", () => target.destroy());
      client.write(reply(0, target.localAddress, target.localPort));
      if (rest.length > 0) target.write(rest);
      client.pipe(target);
      target.pipe(client);
      client.on("close", () => target.destroy());
      target.on("close", () => client.destroy());
    });
  };
  client.on("data", onData);
}).listen(port, "127.0.0.1");
