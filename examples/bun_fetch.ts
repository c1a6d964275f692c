/**
 * fetch through a SOCKS proxy from a Bun script: Bun's own fetch (its HTTP, TLS, redirects and streaming), routed
 * by tabi through the proxy with no DNS lookup on this machine. Run it with `bun examples/bun_fetch.ts` (a test
 * does, on every CI run).
 *
 * To keep the example self-contained it starts its own web server and SOCKS proxy; in a script of your own, pass the
 * URL of the proxy you use (Tor's `socks5h://127.0.0.1:9050`, `ssh -D`, tabi serve ...), or set ALL_PROXY. In a
 * project, add the package (`bunx jsr add @tabi/socks`) and import from "@tabi/socks" instead of "../mod.ts".
 */
import { createSocksFetch, socksFetch, startServer } from "../mod.ts";

// A web server to reach, and a SOCKS proxy that logs where each connection went.
const web = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (request) => new Response(`hello from ${new URL(request.url).pathname}\n`),
});
const server = await startServer({
  listen: [{ hostname: "127.0.0.1", port: 0 }],
  onConnectionEnd: (record) => console.log(`proxy log: ${record.command} ${record.destination} ${record.outcome}`),
});
const proxy = `socks5h://127.0.0.1:${server.addresses[0].port}`;

// One request: the fetch signature plus `proxy`. socks5h:// hands "localhost" to the proxy to resolve.
const response = await socksFetch(`http://localhost:${web.port}/page`, { proxy });
console.log(`${response.status} ${(await response.text()).trim()}`);

// Many requests: a fetch bound to the proxy, reusing its connections; `await using` closes it at the block's end.
{
  await using fetch = createSocksFetch({ proxy });
  const pages = await Promise.all(
    ["/a", "/b"].map(async (path) => (await fetch(`http://localhost:${web.port}${path}`)).text()),
  );
  console.log(pages.map((page) => page.trim()).join(", "));
}

await server.close(1_000);
web.stop(true);
