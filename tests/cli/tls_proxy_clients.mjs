// Other people's clients of a TLS proxy, run by tests/cli/serve_tls_test.ts: undici's ProxyAgent with an https://
// proxy and its Socks5ProxyAgent with proxyTls (under Node), Deno's fetch with Deno.createHttpClient's https proxy
// (under Deno). Prints "STATUS BYTES" of one GET.
//   node tls_proxy_clients.mjs undici-https|undici-socks5 PROXYPORT CAFILE URL
//   deno run -A tls_proxy_clients.mjs deno-https PROXYPORT CAFILE URL
import { readFileSync } from "node:fs";
import process from "node:process";

const [mode, port, caFile, url] = process.argv.slice(2);
const ca = readFileSync(caFile, "utf8");
let response;
if (mode === "undici-https") {
  const { ProxyAgent, fetch } = await import("undici7");
  const dispatcher = new ProxyAgent({
    uri: `https://localhost:${port}`,
    token: `Basic ${Buffer.from("alice:s3cret").toString("base64")}`,
    proxyTls: { ca },
  });
  response = await fetch(url, { dispatcher });
} else if (mode === "undici-socks5") {
  const { Socks5ProxyAgent, fetch } = await import("undici7");
  const dispatcher = new Socks5ProxyAgent(`socks5://alice:s3cret@localhost:${port}`, { proxyTls: { ca } });
  response = await fetch(url, { dispatcher });
} else if (mode === "deno-https") {
  const client = Deno.createHttpClient({
    proxy: { url: `https://alice:s3cret@localhost:${port}` },
    caCerts: [ca],
  });
  response = await fetch(url, { client });
} else {
  throw new Error(`unknown mode ${mode}`);
}
const body = new Uint8Array(await response.arrayBuffer());
console.log(`${response.status} ${body.length}`);
