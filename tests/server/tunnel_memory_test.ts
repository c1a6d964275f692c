/**
 * What a tunnel whose client never reads costs the server: every queue and buffer it holds (the adapters' read
 * queues, the relay's buffer, writes in flight) must stay under the bound docs/serve.md states. Kernel socket buffers
 * are not the process's memory and are not counted (RSS does not include them).
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { DEFAULT_MAX_CHUNK_SIZE } from "../../lib/relay.ts";
import { type RuntimeName, runtimeName } from "../../lib/runtime/detect.ts";
import { mb, rssOf } from "../helpers/proc.ts";
import { startTabiServe } from "../helpers/tabi_serve.ts";

const KiB = 1024;
/**
 * What one socket read can hold besides the relay's window: Deno reads into the relay's own buffer; Node keeps up
 * to one 64 KiB read in the stream and up to 80 KiB in the socket's own buffer; Bun reads up to 512 KiB (its
 * receive buffer) at once.
 */
const SOCKET_READ: Readonly<Record<RuntimeName, number>> = { deno: 0, node: 144 * KiB, bun: 512 * KiB, workers: 0 };
/**
 * The bound per stalled tunnel, as docs/serve.md states it: the cost of any open tunnel (two sockets, their streams,
 * the session; 96 KiB measured as RSS), the relay's window and the buffers it outgrew on the way to it (48 KiB),
 * and one socket read.
 */
const BOUND_PER_TUNNEL = 96 * KiB + DEFAULT_MAX_CHUNK_SIZE + 48 * KiB + SOCKET_READ[runtimeName()];
const TUNNELS = 120;

/** A destination that sends as fast as each connection lets it, forever. */
function firehose(): Promise<{ port: number; close(): void }> {
  const chunk = new Uint8Array(256 * 1024).fill(0x61);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    const pump = () => {
      while (!socket.destroyed && socket.write(chunk));
      if (!socket.destroyed) socket.once("drain", pump);
    };
    pump();
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      });
    });
  });
}

/** A SOCKS5 CONNECT through `proxyPort` that reads the reply and then never reads again. */
function stalledTunnel(proxyPort: number, destinationPort: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port: proxyPort });
    socket.on("error", reject);
    const request = [5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, destinationPort >> 8, destinationPort & 0xff];
    socket.write(new Uint8Array(request));
    const head: number[] = [];
    const onData = (chunk: Uint8Array) => {
      head.push(...chunk.subarray(0, 12 - head.length));
      // Method selection (2 bytes) and the reply (10 bytes for IPv4): then stop reading for good.
      if (head.length < 12) return;
      socket.off("data", onData);
      socket.pause();
      if (head[3] !== 0) reject(new Error(`CONNECT answered ${head[3]}`));
      else resolve(socket);
    };
    socket.on("data", onData);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the process's RSS stops growing (or 20 s pass); returns it. */
async function settledRss(pid: number): Promise<number> {
  let last = rssOf(pid);
  for (let i = 0; i < 40; i++) {
    await sleep(500);
    const now = rssOf(pid);
    if (Math.abs(now - last) < 1024 * 1024) return now;
    last = now;
  }
  return last;
}

describe("memory held by clients that never read", () => {
  it(`stays under ${BOUND_PER_TUNNEL / KiB} KiB per tunnel`, async () => {
    const destination = await firehose();
    const server = await startTabiServe(runtimeName(), ["--listen", "127.0.0.1:0", "--quiet"]);
    const port = Number(server.proxy.split(":").pop());
    const sockets: net.Socket[] = [];
    try {
      // Warm up: the first tunnels pay for code and pools that every later one shares.
      for (let i = 0; i < 10; i++) sockets.push(await stalledTunnel(port, destination.port));
      const before = await settledRss(server.pid);
      for (let i = 0; i < TUNNELS; i++) sockets.push(await stalledTunnel(port, destination.port));
      const after = await settledRss(server.pid);
      const perTunnel = (after - before) / TUNNELS;
      const each = `${(perTunnel / KiB).toFixed(0)} KiB per tunnel (bound ${BOUND_PER_TUNNEL / KiB} KiB)`;
      console.log(`${runtimeName()}: ${TUNNELS} stalled tunnels: +${mb(after - before)}, ${each}`);
      assert.ok(perTunnel < BOUND_PER_TUNNEL, each);
    } finally {
      for (const s of sockets) s.destroy();
      destination.close();
      server.kill("SIGKILL");
      await server.exited;
    }
  });
});
