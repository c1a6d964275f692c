// Run by transparent_test.ts inside `unshare --net`: a listener made transparent through the runtime's FFI, every
// address routed locally, a TPROXY rule sending every TCP connection to it; prints where each connection was going.
import { spawnSync } from "node:child_process";
import process from "node:process";
import { defaultNetwork } from "../../lib/runtime/detect.ts";
import { makeTransparent } from "../../lib/runtime/transparent.ts";
import type { Connection } from "../../lib/net/network.ts";

function must(command: string, args: string[], input?: string): void {
  const result = spawnSync(command, args, { input, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${result.stderr}`);
}

must("ip", ["link", "set", "lo", "up"]);
const network = await defaultNetwork();
const seen: string[] = [];
const onConnection = (c: Connection) => {
  seen.push(`${c.localAddress.hostname} ${c.localAddress.port}`);
  c.close();
};
const v4 = await network.listen({ hostname: "127.0.0.1", port: 0 }, onConnection);
const port = v4.address.port;
const v6 = await network.listen({ hostname: "::1", port }, onConnection);
await makeTransparent(v4.address);
await makeTransparent(v6.address);
must("ip", ["route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "local"]);
must("ip", ["-6", "route", "add", "local", "::/0", "dev", "lo", "table", "local"]);
must(
  "nft",
  ["-f", "-"],
  `table inet probe {
  chain prerouting {
    type filter hook prerouting priority mangle; policy accept;
    meta nfproto ipv4 tcp dport != ${port} tproxy ip to 127.0.0.1:${port}
    meta nfproto ipv6 tcp dport != ${port} tproxy ip6 to [::1]:${port}
  }
}
`,
);
const results: string[] = [];
for (
  const [hostname, port] of [["93.184.216.34", 80], ["10.1.2.3", 443], ["2001:db8::5", 8443], [
    "127.192.0.7",
    22,
  ]] as const
) {
  try {
    const c = await network.connect({ hostname, port });
    c.close();
    results.push(`${hostname} ${port} connected`);
  } catch (error) {
    results.push(`${hostname} ${port} ${(error as Error).message}`);
  }
}
for (let i = 0; i < 100 && seen.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
console.log(JSON.stringify({ results, seen: seen.sort() }));
await v4.close();
await v6.close();
process.exit(0);
