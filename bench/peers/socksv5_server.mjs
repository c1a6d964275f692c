// The npm socksv5 server as a benchmark peer: SOCKS5, no authentication, relays with Node's socket.pipe().
// Usage: node bench/peers/socksv5_server.mjs PORT
import socks from "socksv5";

const port = Number(process.argv[2]);
const server = socks.createServer((_info, accept) => accept());
server.useAuth(socks.auth.None());
server.listen(port, "127.0.0.1");
