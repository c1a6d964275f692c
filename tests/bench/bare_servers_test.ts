// The bench's bare servers (bench/peers/bare_socks5_*) are the floors that tabi's speed figures are read against, and
// its streams floors (bench/peers/streams_socks5.ts) the same work on tabi's own I/O: they must do every step a
// benchmark tunnel needs, correctly, or a floor is lower than a real server's. Each runtime's suite checks its own
// runtime's floors, run as the bench runs them (Node's streams floor through tsx here, a bundle in the bench).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { freePort } from "../../bench/servers.ts";
import { closedPort, echoServer, rawClient, socks5Connect, waitForPort } from "../helpers/net.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request } from "../../lib/wire/socks5_request.ts";
import { payload, sameBytes } from "../helpers/targets.ts";

const runtime = runtimeName();
const commands: Record<string, Record<string, string[]>> = {
  bare: {
    deno: [process.execPath, "run", "-A", "bench/peers/bare_socks5_deno.ts"],
    bun: [process.execPath, "bench/peers/bare_socks5_bun.mjs"],
    node: [process.execPath, "bench/peers/bare_socks5_node.mjs"],
  },
  streams: {
    deno: [process.execPath, "run", "-A", "bench/peers/streams_socks5.ts"],
    bun: [process.execPath, "bench/peers/streams_socks5.ts"],
    // tsx as a loader of node itself: a tsx wrapper process would leave its child behind when killed.
    node: [process.execPath, "--import", "tsx", "bench/peers/streams_socks5.ts"],
  },
};

for (const [floor, command] of Object.entries(commands)) {
  describe(`bench: ${floor}-${runtime}, a floor of the runtime's`, () => {
    let child: ChildProcess;
    let port: number;
    let echo: Awaited<ReturnType<typeof echoServer>>;
    const server = () => ({ hostname: "127.0.0.1", port });
    const loopback = (port: number) => ({ address: { type: "ipv4" as const, host: "127.0.0.1" }, port });

    before(async () => {
      port = await freePort();
      const [program, ...args] = command[runtime];
      child = spawn(program, [...args, String(port)], { stdio: "ignore" });
      await waitForPort(port, `${floor}-${runtime}`);
      echo = await echoServer();
    });
    after(async () => {
      await echo.close();
      const exited = new Promise((resolve) => child.once("close", resolve));
      child.kill("SIGKILL");
      await exited;
    });

    it("relays a CONNECT both ways, with the request's trailing bytes and a half-close, and replies its bound address", async () => {
      const first = payload(100, 7);
      const { client, reply } = await socks5Connect(server(), loopback(echo.address.port), first);
      assert.equal(reply.reply, 0);
      assert.equal(reply.bound.address.host, "127.0.0.1");
      assert.notEqual(reply.bound.port, 0);
      // Large enough for the relay's buffers to fill and the kernel to push back.
      const rest = payload(3 * 1024 * 1024, 8);
      const written = client.send(rest).then(() => client.writer.close());
      const echoed = await client.readToEnd();
      await written;
      assert.equal(echoed.length, first.length + rest.length);
      assert.ok(sameBytes(echoed.subarray(0, first.length), first));
      assert.ok(sameBytes(echoed.subarray(first.length), rest));
      client.close();
    });

    it("answers a refused destination with REP 5 and a command other than CONNECT with REP 7", async () => {
      const refused = await socks5Connect(server(), loopback(await closedPort()));
      assert.equal(refused.reply.reply, 5);
      refused.client.close();
      const client = await rawClient(server());
      await client.send(encodeSocks5Greeting({ methods: [0] }));
      assert.equal((await client.reader.read(decodeSocks5MethodSelection)).method, 0);
      await client.send(encodeSocks5Request({ command: 3, destination: loopback(echo.address.port) }));
      assert.equal((await client.reader.read(decodeSocks5Reply)).reply, 7);
      client.close();
    });
  });
}
