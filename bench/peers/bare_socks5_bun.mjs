// The floor of Bun for the bench (`bare-bun`): a SOCKS5 server that does only what every tunnel of the `rate` and
// `tput` figures needs (no-authentication greeting, CONNECT to an IPv4 address, a reply with the bound address, a
// relay with half-close and drain) on `Bun.listen`/`Bun.connect` handlers, with no rule, limit, log, timer or
// stream. What tabi adds on top of it is what tabi costs; what this costs is what Bun itself costs, so a target that
// this misses too is out of reach of any server written for the runtime. Not a product: no IPv6, names, auth or
// BIND.
// Usage: bun bench/peers/bare_socks5_bun.mjs PORT
import {
  connectFailure,
  NO_ACCEPTABLE_METHOD,
  NO_AUTH,
  readGreeting,
  readRequest,
  reply,
} from "./bare_socks5_wire.mjs";

const port = Number(process.argv[2]);

// One side of a tunnel: its socket, the other side, and what the other side's kernel did not take yet.
class Side {
  socket;
  peer;
  backlog = [];
  ended = false;
  constructor(socket) {
    this.socket = socket;
  }
  // Passes bytes to the peer; what the kernel does not take waits for its drain, and this side stops reading.
  forward(bytes) {
    const peer = this.peer;
    if (peer.backlog.length > 0) return void peer.backlog.push(bytes.slice());
    const written = peer.socket.write(bytes);
    if (written < bytes.length) {
      peer.backlog.push(bytes.slice(written));
      this.socket.pause();
    }
  }
  // The peer's kernel took more: send what waits, and read again once nothing does.
  drain() {
    while (this.backlog.length > 0) {
      const bytes = this.backlog[0];
      const written = this.socket.write(bytes);
      if (written < bytes.length) return void (this.backlog[0] = bytes.subarray(written));
      this.backlog.shift();
    }
    this.peer.socket.resume();
    if (this.peer.ended) this.peer.passEnd();
  }
  // This side's FIN: passed on once the bytes before it are.
  end() {
    this.ended = true;
    if (this.peer.backlog.length === 0) this.passEnd();
  }
  // Sends this side's FIN on; once both ways ended, the tunnel is done and both sockets close.
  passEnd() {
    if (this.peer.ended) {
      this.socket.end();
      this.peer.socket.end();
    } else {
      this.peer.socket.shutdown();
    }
  }
}

const relay = {
  data: (socket, bytes) => socket.data.forward(bytes),
  drain: (socket) => socket.data.drain(),
  end: (socket) => socket.data.end(),
  close: (socket) => socket.data.peer?.socket.end(),
  error: () => {},
};

function handshake(socket, bytes) {
  const state = socket.data;
  let pending = state.pending = state.pending ? new Uint8Array([...state.pending, ...bytes]) : bytes.slice();
  if (!state.greeted) {
    const greeting = readGreeting(pending);
    if (greeting === undefined) return;
    if (!greeting.acceptable) return void socket.end(NO_ACCEPTABLE_METHOD);
    pending = state.pending = pending.subarray(greeting.length);
    state.greeted = true;
    socket.write(NO_AUTH);
  }
  const request = readRequest(pending);
  if (request === undefined) return;
  if (request.refusal) return void socket.end(request.refusal);
  socket.pause();
  const client = new Side(socket);
  const rest = pending.slice(request.length);
  Bun.connect({
    hostname: request.host,
    port: request.port,
    allowHalfOpen: true,
    socket: {
      ...relay,
      open(target) {
        const side = target.data = new Side(target);
        side.peer = client;
        client.peer = side;
        socket.data = client;
        target.setNoDelay(true);
        socket.write(reply(0, target.localAddress, target.localPort));
        if (rest.length > 0) client.forward(rest);
        socket.resume();
      },
    },
  }).catch((error) => socket.end(connectFailure(error?.code === "ECONNREFUSED")));
}

Bun.listen({
  hostname: "127.0.0.1",
  port,
  allowHalfOpen: true,
  socket: {
    open(socket) {
      socket.setNoDelay(true);
      socket.data = { greeted: false, pending: undefined };
    },
    data(socket, bytes) {
      if (socket.data instanceof Side) socket.data.forward(bytes);
      else handshake(socket, bytes);
    },
    drain: (socket) => socket.data instanceof Side && socket.data.drain(),
    end: (socket) => socket.data instanceof Side ? socket.data.end() : socket.end(),
    close: (socket) => socket.data instanceof Side && socket.data.peer.socket.end(),
    error: () => {},
  },
});
