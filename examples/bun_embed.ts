/**
 * Embedding tabi in a Bun script: start a SOCKS server on Bun's native sockets, then fetch a page through it with
 * tabi's client. Run it with `bun examples/bun_embed.ts` (a test does, on every CI run).
 *
 * In a project of your own, add the package (`bunx jsr add @tabi/socks`) and import from "@tabi/socks" and
 * "@tabi/socks/bun" instead of the relative paths below.
 */
import { connect, startServer } from "../mod.ts";
import { bunNetwork } from "../lib/runtime/bun/network.ts";

// A web server to reach through the proxy.
const web = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hello through tabi\n") });

// The proxy. `network` is optional (tabi picks the adapter of the running runtime); it is explicit here to show it.
const server = await startServer({
  listen: [{ hostname: "127.0.0.1", port: 0 }],
  network: bunNetwork(),
  onConnectionEnd: (record) => console.log(`proxy log: ${record.command} ${record.destination} ${record.outcome}`),
});
const proxy = `socks5h://127.0.0.1:${server.addresses[0].port}`;
console.log(`proxy listening: ${proxy}`);

// A tunnel through it; socks5h:// lets the proxy resolve "localhost", so this script asks no DNS server.
const tunnel = await connect(proxy, `localhost:${web.port}`, { network: bunNetwork() });
const writer = tunnel.writable.getWriter();
await writer.write(new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
await writer.close();
const response = await new Response(tunnel.readable).text();
tunnel.close();
console.log(response.split("\r\n")[0]);
console.log(response.slice(response.indexOf("\r\n\r\n") + 4).trim());

await server.close(1_000);
web.stop(true);
