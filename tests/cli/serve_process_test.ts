/**
 * `tabi serve` as an operator meets it, run as a process under the runtime running this file: a listen failure is
 * one line, SIGHUP does not stop it, a second SIGINT still logs the tunnels it cuts, and a closed stderr (a log
 * pipe whose reader went away, or `2>&-`) never stops it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { closedPort, echoServer, network, sleep, socks5Connect, waitForPort } from "../helpers/net.ts";
import { cliCommand, run } from "../helpers/process.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";

const [command, prefix] = cliCommand();
const here = runtimeName();
/** Deno's child_process reports a child it signalled as killed (null) even when the child exits by itself. */
const exitedWith = (code: number | null, expected: number) => code === expected || (code === null && here === "deno");

/** Waits (bounded) until `read()` matches `pattern`. */
async function waitFor(read: () => string, pattern: RegExp, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (pattern.test(read())) return;
    await sleep(50);
  }
  throw new Error(`${what}: never saw ${pattern} in: ${read()}`);
}

/** A SOCKS5 CONNECT through `proxy` to the echo server at `port`; sends a byte and expects it back. */
async function echoThrough(proxy: { hostname: string; port: number }, port: number): Promise<void> {
  const { client, reply } = await socks5Connect(proxy, { address: { type: "ipv4", host: "127.0.0.1" }, port });
  assert.equal(reply.reply, 0);
  await client.send([9]);
  assert.deepEqual([...await client.reader.readExactly(1)], [9]);
  client.close();
}

/** Closes the echo server and what it accepted (a listener's close may wait for its connections). */
async function closeEcho(echo: Awaited<ReturnType<typeof echoServer>>): Promise<void> {
  for (const connection of echo.accepted) connection.close();
  await echo.close();
}

const endpointOf = (proxy: string) => ({ hostname: "127.0.0.1", port: Number(proxy.split(":")[1]) });

describe(`tabi serve as a process (${here})`, () => {
  it("a listen failure is one line naming the address and the reason, and exit code 1", async () => {
    const taken = await network.listen({ hostname: "127.0.0.1", port: 0 }, (c) => c.close());
    try {
      const port = taken.address.port;
      const cases: [string[], string][] = [
        [
          ["--listen", `127.0.0.1:${port}`],
          `tabi: cannot listen on 127.0.0.1:${port}: the address is already in use (another program listens on this port)\n`,
        ],
        // 192.0.2.1 (TEST-NET-1) is on no machine: binding it fails at once and sends nothing.
        [
          ["--allow-open", "--listen", "192.0.2.1:1080"],
          "tabi: cannot listen on 192.0.2.1:1080: the address is not on this machine\n",
        ],
        [
          ["--allow-open", "--listen", "127.0.0.1:0", "--listen", "192.0.2.1:1080"],
          "tabi: cannot listen on 192.0.2.1:1080: the address is not on this machine\n",
        ],
      ];
      for (const [args, expected] of cases) {
        const result = await run(command, [...prefix, "serve", ...args], { timeoutMs: 20_000 });
        assert.equal(result.code, 1, result.stderr);
        assert.equal(result.stderr, expected);
      }
    } finally {
      await taken.close();
    }
  });

  it("SIGHUP does not stop it: it says reload is not supported yet and keeps serving", async () => {
    const echo = await echoServer();
    const child = await startTabiServe(here, ["--listen", "127.0.0.1:0"]);
    try {
      process.kill(child.pid, "SIGHUP");
      await waitFor(child.stderr, /tabi: SIGHUP: reload is not supported yet\n/, "SIGHUP");
      await echoThrough(endpointOf(child.proxy), echo.address.port);
      child.kill("SIGTERM");
      const code = await child.exited;
      assert.ok(exitedWith(code, 0), `exit code ${code}: ${child.stderr()}`);
      assert.match(child.stderr(), /: stopped; was listening on 127\.0\.0\.1:\d+\n$/);
    } finally {
      child.kill("SIGKILL");
      await closeEcho(echo);
    }
  });

  it("a second SIGINT cuts open tunnels at once, and their log lines are still written before exit", async () => {
    const echo = await echoServer();
    const child = await startTabiServe(here, ["--listen", "127.0.0.1:0", "--grace", "600"]);
    try {
      const proxy = endpointOf(child.proxy);
      const target = { address: { type: "ipv4" as const, host: "127.0.0.1" }, port: echo.address.port };
      const open = await Promise.all([socks5Connect(proxy, target), socks5Connect(proxy, target)]);
      assert.deepEqual(open.map((o) => o.reply.reply), [0, 0]);
      // process.kill, not child.kill: Deno's child.kill sends nothing to a child it has signalled once.
      process.kill(child.pid, "SIGINT");
      await waitFor(child.stderr, /SIGINT: no new connections; 2 open, waiting up to 600 s\n/, "first SIGINT");
      process.kill(child.pid, "SIGINT");
      const code = await child.exited;
      assert.ok(exitedWith(code, 1), `exit code ${code}: ${child.stderr()}`);
      const stderr = child.stderr();
      const cut = stderr.slice(stderr.indexOf("SIGINT again, closing every connection now\n"));
      assert.equal(cut.split("\n").filter((l) => /^time=\S+ client=/.test(l)).length, 2, stderr);
      assert.match(cut, /: stopped \(connections cut\); was listening on 127\.0\.0\.1:\d+\n$/);
      for (const { client } of open) client.close();
    } finally {
      child.kill("SIGKILL");
      await closeEcho(echo);
    }
  });

  it("a log pipe whose reader went away (serve 2>&1 | head -1) does not stop it; it says so once on stdout", async () => {
    const echo = await echoServer();
    const child = spawn(command, [...prefix, "serve", "--listen", "127.0.0.1:0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Uint8Array) => (stdout += new TextDecoder().decode(chunk)));
    child.stderr.on("data", (chunk: Uint8Array) => (stderr += new TextDecoder().decode(chunk)));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      await waitFor(() => stderr, /listening on 127\.0\.0\.1:\d+/, "start");
      const proxy = endpointOf(/listening on (\S+) /.exec(stderr)![1]);
      // Close our end of the log pipe, as `head -1` does once it has its line: the next log line meets EPIPE.
      child.stderr.destroy();
      for (let i = 0; i < 4; i++) await echoThrough(proxy, echo.address.port);
      await waitFor(() => stdout, /tabi: stderr is closed \(EPIPE\): the log is dropped from now on\n/, "notice");
      await echoThrough(proxy, echo.address.port);
      assert.equal(stdout.split("stderr is closed").length, 2, stdout);
      child.kill("SIGTERM");
      const code = await exited;
      assert.ok(exitedWith(code, 0), `exit code ${code}`);
    } finally {
      child.kill("SIGKILL");
      await closeEcho(echo);
    }
  });

  it("a closed stderr (serve 2>&-) does not stop it, from start to stop", async () => {
    const echo = await echoServer();
    const port = await closedPort();
    const child = spawn("sh", [
      "-c",
      'exec "$@" 2>&-',
      "sh",
      command,
      ...prefix,
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
    ], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Uint8Array) => (stdout += new TextDecoder().decode(chunk)));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      await waitForPort(port, "tabi serve 2>&-", 20_000);
      for (let i = 0; i < 3; i++) await echoThrough({ hostname: "127.0.0.1", port }, echo.address.port);
      child.kill("SIGTERM");
      const code = await exited;
      assert.ok(exitedWith(code, 0), `exit code ${code}: ${stdout}`);
      assert.ok(stdout.split("stderr is closed").length <= 2, stdout);
    } finally {
      child.kill("SIGKILL");
      await closeEcho(echo);
    }
  });
});
