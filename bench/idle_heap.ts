/**
 * Live heap per idle tunnel: tabi's server in this process, socksbench (bench/socksbench.c) holding N idle tunnels
 * through it, and the heap in use after a full garbage collection, before and while they are held. Less noisy than
 * the RSS figure of `bench/run.ts --figures memory` (no allocator or GC timing in it), for comparing two versions of
 * the code on one runtime:
 *
 *   ./node_modules/.bin/deno run -A --v8-flags=--expose-gc bench/idle_heap.ts [TUNNELS] [RUNS]
 *   ./node_modules/.bin/bun bench/idle_heap.ts [TUNNELS] [RUNS]
 *   node --expose-gc --import tsx bench/idle_heap.ts [TUNNELS] [RUNS]
 *
 * Prints one line per run and the median: `live heap per idle tunnel: N.NN KB`.
 *
 * @module
 */
import process from "node:process";
import { startServer } from "../mod.ts";
import { startSocksbench } from "./socksbench.ts";

const tunnels = Number(process.argv[2] ?? 2000);
const runs = Number(process.argv[3] ?? 3);

/** A full collection: V8's gc() (given --expose-gc) or Bun's. */
function collect(): void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun) return bun.gc(true);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc (Node) or --v8-flags=--expose-gc (Deno)");
  gc();
  gc();
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function liveHeap(): Promise<number> {
  await settle(200);
  collect();
  await settle(50);
  collect();
  return process.memoryUsage().heapUsed;
}

const bench = await startSocksbench();
const figures: number[] = [];
try {
  for (let run = 0; run < runs; run++) {
    const server = await startServer({
      listen: [{ hostname: "127.0.0.1", port: 0 }],
      limits: { maxClientsPerAddress: tunnels * 2, maxClients: tunnels * 2 },
      onConnectionEnd: () => {},
    });
    const address = `127.0.0.1:${server.addresses[0].port}`;
    // Warm up, so that compiling the code paths is not counted as tunnel memory.
    await bench.run(["rate", address, bench.echo, "4", "1"]);
    const before = await liveHeap();
    let holding: Promise<number> | undefined;
    let opened = 0;
    await bench.idle(address, tunnels, 3, (open) => {
      opened = open;
      holding = liveHeap();
    });
    const perTunnel = ((await holding!) - before) / opened / 1000;
    figures.push(perTunnel);
    console.log(`run ${run + 1}: ${opened} tunnels, ${perTunnel.toFixed(2)} KB live heap each`);
    await server.close(0);
  }
} finally {
  bench.stop();
}
figures.sort((a, b) => a - b);
console.log(`live heap per idle tunnel: ${figures[Math.floor(figures.length / 2)].toFixed(2)} KB (median of ${runs})`);
