// `tabi serve` out of file descriptors (EMFILE): it must not spin (Bun retried accept() in a busy loop and used a
// whole core), must answer a CONNECT that failed for want of a descriptor with 0x01 in every runtime (Bun said
// 0x05, "refused"), and must serve again once descriptors are free.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { describe, it } from "node:test";
import { runtimeName } from "../../lib/runtime/detect.ts";
import { cliCommandFor, requireTool } from "../helpers/process.ts";

const LIMIT = 256;
const IDLE_CLIENTS = 400;
const WAITING_CLIENTS = 60;

/** CPU seconds (user + system) process `pid` has used, from /proc (clock ticks of 1/100 s on Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the first `n` bytes `socket` receives; rejects after `ms`. */
function firstBytes(socket: net.Socket, n: number, ms = 15_000): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const got: number[] = [];
    const timer = setTimeout(() => reject(new Error(`no ${n} bytes within ${ms} ms (got ${got.length})`)), ms);
    const onData = (chunk: Uint8Array) => {
      got.push(...chunk);
      if (got.length < n) return;
      clearTimeout(timer);
      socket.off("data", onData);
      resolve(new Uint8Array(got.slice(0, n)));
    };
    socket.on("data", onData);
    socket.once("close", () => {
      clearTimeout(timer);
      reject(new Error(`closed after ${got.length} bytes`));
    });
  });
}

function open(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** A connection that has been through the SOCKS5 greeting: the server holds it, waiting for the request. */
async function greeted(port: number): Promise<net.Socket> {
  const socket = await open(port);
  socket.on("error", () => {});
  const selection = firstBytes(socket, 2);
  socket.write(new Uint8Array([5, 1, 0]));
  assert.deepEqual([...await selection], [5, 0]);
  return socket;
}

/** Sends a CONNECT to 127.0.0.1:`to` on a greeted connection; resolves with REP. */
async function connectRequest(socket: net.Socket, to: number): Promise<number> {
  const reply = firstBytes(socket, 10);
  socket.write(new Uint8Array([5, 1, 0, 1, 127, 0, 0, 1, to >> 8, to & 0xff]));
  return (await reply)[1];
}

describe("out of file descriptors", () => {
  it(`under ulimit -n ${LIMIT} with ${IDLE_CLIENTS} idle clients: no spin, 0x01, and service again after`, async () => {
    await requireTool("prlimit");
    const [command, prefix] = cliCommandFor(runtimeName());
    const child = spawn(
      "prlimit",
      [`--nofile=${LIMIT}`, command, ...prefix, "serve", "--listen", "127.0.0.1:0", "--quiet"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    child.stderr.on("data", (chunk: Uint8Array) => (log += new TextDecoder().decode(chunk)));
    const exited = new Promise((resolve) => child.on("close", resolve));
    const holding = new Set<net.Socket>();
    const destination = net.createServer((socket) => {
      holding.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => destination.listen(0, "127.0.0.1", resolve));
    const to = (destination.address() as net.AddressInfo).port;
    const sockets: net.Socket[] = [];
    try {
      const until = Date.now() + 20_000;
      while (!/listening on/.test(log) && Date.now() < until) await sleep(50);
      const port = Number(/listening on [^ ]*:(\d+)/.exec(log)?.[1]);
      assert.ok(port > 0, `tabi serve did not start: ${log}`);

      // Clients that finished their greeting first, so that the server holds them; their requests come later.
      const waiting: net.Socket[] = [];
      for (let i = 0; i < WAITING_CLIENTS; i++) waiting.push(await greeted(port));
      sockets.push(...waiting);
      // Then more clients than descriptors: each one the server accepts holds one until the handshake timeout.
      for (let i = 0; i < IDLE_CLIENTS; i++) {
        const socket = net.connect({ host: "127.0.0.1", port });
        socket.on("error", () => {});
        sockets.push(socket);
      }
      await sleep(1000);
      const cpuBefore = cpuSeconds(child.pid!);
      const started = Date.now();
      await sleep(3000);
      const share = (cpuSeconds(child.pid!) - cpuBefore) / ((Date.now() - started) / 1000);
      // A bound, not a speed: a busy loop uses a whole core (1.0); idling out of descriptors uses next to none.
      assert.ok(share < 0.5, `tabi serve used ${(share * 100).toFixed(0)} % of a core while out of descriptors`);

      // CONNECTs now fail for want of a descriptor (some may still get one): 0x01, never "refused".
      const replies = await Promise.all(waiting.map((socket) => connectRequest(socket, to)));
      const failed = replies.filter((r) => r !== 0);
      assert.ok(failed.length > 0, `every CONNECT succeeded: the test did not run out of descriptors`);
      assert.deepEqual([...new Set(failed)], [1], `replies: ${replies.join(" ")}`);

      // Descriptors free again: a new client is served.
      for (const socket of sockets) socket.destroy();
      for (const socket of holding) socket.destroy();
      const deadline = Date.now() + 15_000;
      let served = false;
      while (!served && Date.now() < deadline) {
        try {
          const socket = await greeted(port);
          sockets.push(socket);
          served = await connectRequest(socket, to) === 0;
        } catch {
          await sleep(200);
        }
      }
      assert.ok(served, "no CONNECT served after the descriptors were freed");
    } finally {
      for (const socket of sockets) socket.destroy();
      for (const socket of holding) socket.destroy();
      destination.close();
      child.kill("SIGKILL");
      await exited;
    }
  });
});
