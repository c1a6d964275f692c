/**
 * Deno-based edges (Deno Deploy and the like) run the Deno adapter over `Deno.connect`, and offer outbound TCP but no
 * listening, FFI, subprocesses or files. This runs a client script that loads the package root under Deno with
 * network access to 127.0.0.1 alone and `--no-prompt` (so any other permission asked for is an error), through
 * tabi's server to an echo server. Only orchestration here: it runs under Node, Deno and Bun alike.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { echoServer, testServer } from "../helpers/net.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const script = fileURLToPath(new URL("./deno_client_script.ts", import.meta.url));

describe("the package root on a Deno-based edge: the client with network permission only", () => {
  let server: Awaited<ReturnType<typeof testServer>>;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  before(async () => {
    server = await testServer({ resolveExtension: true });
    echo = await echoServer();
  });
  after(async () => {
    await server?.close();
    await echo?.close();
  });

  it("connects, relays, resolves on the proxy and refuses a DNS leak under --allow-net=127.0.0.1 --no-prompt", async () => {
    const args = [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      // No lock file or node_modules writes either: an edge's file system is read-only.
      "--no-lock",
      script,
      `socks5h://127.0.0.1:${server.endpoint.port}`,
      `127.0.0.1:${echo.address.port}`,
      "localhost",
    ];
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>(
      (resolve) => {
        const child = execFile(`${root}node_modules/.bin/deno`, args, {
          cwd: root,
          env: { PATH: "/usr/bin:/bin", DENO_NO_UPDATE_CHECK: "1", HOME: "/nonexistent" },
          timeout: 60_000,
        }, (error, stdout, stderr) => resolve({ stdout, stderr, code: error ? (error.code as number) ?? 1 : 0 }));
        child.stdin?.end();
      },
    );
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), {
      runtime: "deno",
      echoed: "through the edge",
      address: { type: "ipv4", host: "127.0.0.1" },
      leak: "dns-leak",
    });
  });
});
