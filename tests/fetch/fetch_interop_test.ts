/** fetch through SOCKS servers nobody here wrote: microsocks and Dante (and each in a chain with tabi's). */
import { closedPort, testServer, waitForPort } from "../helpers/net.ts";
import { daemon, requireTool } from "../helpers/process.ts";
import { startDante } from "../helpers/dante.ts";
import { fetchSuite } from "./fetch_suite.ts";

fetchSuite("microsocks", async () => {
  await requireTool("microsocks");
  const port = await closedPort();
  const microsocks = daemon("microsocks", ["-i", "127.0.0.1", "-p", String(port)]);
  await waitForPort(port, "microsocks");
  const tabi = await testServer();
  const refusedPort = await closedPort();
  return {
    proxy: `socks5h://127.0.0.1:${port}`,
    leakyProxy: `socks5://127.0.0.1:${port}`,
    port,
    chain: [`socks5h://127.0.0.1:${port}`, `socks4a://127.0.0.1:${tabi.endpoint.port}`],
    // microsocks answers a refused destination with 0x05.
    refusing: {
      proxy: `socks5h://127.0.0.1:${port}`,
      url: () => `http://localhost:${refusedPort}/`,
      reply: 0x05,
    },
    logShowsName: (originPort) => microsocks.output().includes(`connected to localhost:${originPort}`),
    async close() {
      await microsocks.stop();
      await tabi.close();
    },
  };
});

fetchSuite("Dante", async () => {
  const blocked = await closedPort();
  // Debug level: Dante logs a request's destination as its packet carried it (ATYP 3: a name).
  const dante = await startDante({
    debug: true,
    ipv6: true,
    rules: [
      `socks block {\n  from: 127.0.0.0/8 to: 0.0.0.0/0 port = ${blocked}\n  log: connect error\n}`,
      "socks pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  command: connect\n  log: connect disconnect\n}",
      "socks pass {\n  from: 127.0.0.0/8 to: ::/0\n  command: connect\n  log: connect disconnect\n}",
    ],
  });
  const port = dante.port;
  const tabi = await testServer();
  return {
    proxy: `socks5h://127.0.0.1:${port}`,
    leakyProxy: `socks5://127.0.0.1:${port}`,
    port,
    // SOCKS4 to Dante (the next hop is an address), then SOCKS5 with the name to tabi's.
    chain: [`socks4://127.0.0.1:${port}`, `socks5h://127.0.0.1:${tabi.endpoint.port}`],
    // A `socks block` rule: Dante answers 0x02 (not allowed by the ruleset).
    refusing: {
      proxy: `socks5h://127.0.0.1:${port}`,
      url: () => `http://127.0.0.1:${blocked}/`,
      reply: 0x02,
    },
    logShowsName: (originPort) => dante.output().includes(`ATYP: 3 address: localhost.${originPort} `),
    async close() {
      await dante.stop();
      await tabi.close();
    },
  };
});
