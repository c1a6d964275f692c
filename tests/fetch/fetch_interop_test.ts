/** fetch through SOCKS servers nobody here wrote: microsocks and Dante (and each in a chain with tabi's). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedPort, testServer, waitForPort } from "../helpers/net.ts";
import { currentUser, daemon, requireTool } from "../helpers/process.ts";
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
  await requireTool("danted");
  const port = await closedPort();
  const blocked = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), "tabi-fetch-dante-"));
  const config = join(dir, "danted.conf");
  writeFileSync(
    config,
    [
      "logoutput: stderr",
      // Dante logs a request's destination as its packet carried it (ATYP 3: a name) only at debug level.
      "debug: 1",
      `internal: 127.0.0.1 port = ${port}`,
      "external: 127.0.0.1",
      "external: ::1",
      "clientmethod: none",
      "socksmethod: none",
      `user.privileged: ${currentUser()}`,
      "user.unprivileged: nobody",
      "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }",
      `socks block {\n  from: 127.0.0.0/8 to: 0.0.0.0/0 port = ${blocked}\n  log: connect error\n}`,
      "socks pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  command: connect\n  log: connect disconnect\n}",
      "socks pass {\n  from: 127.0.0.0/8 to: ::/0\n  command: connect\n  log: connect disconnect\n}",
      "",
    ].join("\n"),
  );
  const dante = daemon("danted", ["-f", config]);
  await waitForPort(port, "danted").catch((error) => {
    throw new Error(`${error.message}: ${dante.output()}`);
  });
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
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
