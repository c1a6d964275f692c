/**
 * The DNS-leak scenario, run by dns_leak_test.ts inside a network and mount namespace of its own whose only
 * resolver is a DNS recorder (dns_recorder.py on 127.0.0.1:53, through a private /etc/resolv.conf). It starts the
 * recorder, an HTTP and an HTTPS origin, and a tabi SOCKS server whose resolver maps the test names to 127.0.0.1
 * without asking any DNS (so every question the recorder gets comes from the fetching code), then socksFetches by
 * name over http and https, through socks5h and socks4a, and across a redirect to another name. Last, one lookup of
 * the control name through the runtime's own resolver proves the recorder is the resolver. Prints one JSON line:
 * `{ results, questions }`.
 *
 * Usage (in the namespace): RUNTIME dns_leak_scenario.ts LOGFILE CONTROL_NAME
 */
import { spawn } from "node:child_process";
import { lookup } from "node:dns/promises";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { defaultNetwork, type Network, SocksError, socksFetch, startServer } from "../../mod.ts";
import { makePki, startOrigin, startTlsOrigin } from "./fetch_fixtures.ts";
import { socksWebSocket } from "../../mod.ts";
import { closed, nextMessage, opened, startEchoServer } from "./websocket/websocket_fixtures.ts";
import { preloadCommand } from "../env/preload_command.ts";

/** The names only the proxy knows. */
const LEAK_TEST_NAMES = ["leak-test.example", "other-name.example"] as const;

const [log, controlName] = process.argv.slice(-2);
const recorder = spawn(
  "python3",
  [join(dirname(fileURLToPath(import.meta.url)), "dns_recorder.py"), "127.0.0.1", log],
  {
    stdio: ["pipe", "pipe", "inherit"],
  },
);
await new Promise<void>((resolve, reject) => {
  recorder.once("error", reject);
  recorder.stdout.once("data", () => resolve());
});

const pki = makePki([...LEAK_TEST_NAMES]);
const origin = await startOrigin();
const tlsOrigin = await startTlsOrigin(pki);
const base = await defaultNetwork();
const known = new Set<string>(LEAK_TEST_NAMES);
// The proxy's resolver: the test names are 127.0.0.1, anything else is unknown; no DNS is asked either way.
const network: Network = {
  connect: (options) => base.connect(options),
  listen: (options, onConnection) => base.listen(options, onConnection),
  bindUdp: (options, onDatagram) => base.bindUdp(options, onDatagram),
  resolve: (name) =>
    known.has(name)
      ? Promise.resolve(["127.0.0.1"])
      : Promise.reject(new SocksError("host-unreachable", `${name} is not a test name`)),
  reverse: (address) => base.reverse(address),
};
const server = await startServer({ listen: [{ hostname: "127.0.0.1", port: 0 }], network });
const port = server.addresses[0].port;

const [name, other] = LEAK_TEST_NAMES;
const cases: [string, string, string][] = [
  ["http, socks5h", `socks5h://127.0.0.1:${port}`, `http://${name}:${origin.port}/hello`],
  ["https, socks5h", `socks5h://127.0.0.1:${port}`, `https://${name}:${tlsOrigin.port}/secure`],
  ["http, socks4a", `socks4a://127.0.0.1:${port}`, `http://${other}:${origin.port}/four`],
  ["redirect to another name", `socks5h://127.0.0.1:${port}`, `http://${name}:${origin.port}/redirect-host/${other}`],
];
const results: Record<string, string> = {};
for (const [label, proxy, url] of cases) {
  try {
    const response = await socksFetch(url, { proxy, ca: pki.caPem });
    results[label] = `${response.status} ${await response.text()} ${response.url}`;
  } catch (error) {
    results[label] = `error: ${error instanceof Error ? `${error.message} (${String(error.cause)})` : String(error)}`;
  }
}
// socksWebSocket by name: ws and wss through socks5h, ws through socks4a (python3-websockets' echo server).
const echo = await startEchoServer();
const tlsEcho = await startEchoServer(pki);
const webSockets: [string, string, string][] = [
  ["ws, socks5h", `socks5h://127.0.0.1:${port}`, `ws://${name}:${echo.port}/echo`],
  ["wss, socks5h", `socks5h://127.0.0.1:${port}`, `wss://${name}:${tlsEcho.port}/echo`],
  ["ws, socks4a", `socks4a://127.0.0.1:${port}`, `ws://${other}:${echo.port}/echo`],
];
for (const [label, proxy, url] of webSockets) {
  try {
    const ws = socksWebSocket(url, { proxy, ca: pki.caPem });
    await opened(ws);
    ws.send(label);
    const echoed = await nextMessage(ws);
    const done = closed(ws);
    ws.close(1000);
    results[label] = `${echoed} ${(await done).code}`;
  } catch (error) {
    results[label] = `error: ${error instanceof Error ? error.message : String(error)}`;
  }
}
// An unmodified program (global fetch, http.get, https.request, a WebSocket) under the environment preload with
// ALL_PROXY=socks5h://, by name: a child process, in the same namespace.
const caFile = join(mkdtempSync(join(tmpdir(), "tabi-dns-leak-ca-")), "ca.pem");
writeFileSync(caFile, pki.caPem);
const [command, args] = preloadCommand(join("tests", "env", "unmodified_client.mjs"));
// Asynchronously: the proxy and the sites it reaches run in this process.
const child = spawn(command, [
  ...args,
  `http://${name}:${origin.port}`,
  `https://${name}:${tlsOrigin.port}`,
  `ws://${other}:${echo.port}/echo`,
  caFile,
], { env: { ...process.env, ALL_PROXY: `socks5h://127.0.0.1:${port}` }, stdio: ["ignore", "pipe", "pipe"] });
let childOut = "";
let childErr = "";
child.stdout.on("data", (chunk: Uint8Array) => (childOut += new TextDecoder().decode(chunk)));
child.stderr.on("data", (chunk: Uint8Array) => (childErr += new TextDecoder().decode(chunk)));
const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
clearTimeout(killer);
try {
  const preloaded = JSON.parse(childOut.trim().split("\n").at(-1) ?? "{}") as Record<string, string>;
  for (const [label, value] of Object.entries(preloaded)) results[`preload: ${label}`] = value;
} catch {
  results["preload"] = `error: ${status} ${childOut} ${childErr}`;
}
await echo.close();
await tlsEcho.close();
await lookup(controlName).catch(() => undefined);

await server.close();
await origin.close();
await tlsOrigin.close();
recorder.stdin.end();
const questions = readFileSync(log, "utf8").split("\n").filter((line) => line !== "");
console.log(JSON.stringify({ results, questions }));
process.exit(0);
