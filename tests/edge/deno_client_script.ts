/**
 * A client as it would run on a Deno-based edge (Deno Deploy and the like): it loads the package root and uses the
 * client, and nothing else. deno_edge_test.ts runs it with `--allow-net=127.0.0.1 --no-prompt` only: any need for
 * files, environment, subprocesses, FFI or listening would fail it. Arguments: PROXY ECHO_TARGET RESOLVE_NAME.
 */
import { connect, resolve, runtimeName, SocksError } from "../../mod.ts";

const [proxy, target, name] = Deno.args;
const tunnel = await connect(proxy, target, { timeoutMs: 10_000 });
const writer = tunnel.writable.getWriter();
const sent = new TextEncoder().encode("through the edge");
await writer.write(sent);
await writer.close();
let echoed = "";
for await (const chunk of tunnel.readable) echoed += new TextDecoder().decode(chunk, { stream: true });
tunnel.close();
const address = await resolve(proxy, name, { timeoutMs: 10_000 });
// socks5:// with a name would resolve it here: refused before any socket, as everywhere.
const leak = await connect(proxy.replace("socks5h:", "socks5:"), "example.com:443").catch((e: unknown) => e);
console.log(JSON.stringify({
  runtime: runtimeName(),
  echoed,
  address,
  leak: leak instanceof SocksError ? leak.code : String(leak),
}));
