/**
 * The servers a benchmark run compares: tabi under each runtime and the peers (microsocks, Dante, npm socksv5),
 * each started on a free loopback port, plus `direct` (no proxy) as the physical baseline.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pinned } from "./pin.ts";
import { processTree } from "./proc_stats.ts";
import type { BenchCert } from "./tls_cert.ts";
import { findPeer } from "../scripts/peers.mjs";

/** A server under test. `address` is `direct` for the baseline. */
export interface BenchServer {
  readonly name: string;
  readonly address: string;
  /** True for a server that also speaks TLS and HTTP CONNECT on its port (tabi started with `--tls-cert`). */
  readonly tls?: boolean;
  /** True for a server that speaks HTTP CONNECT and forwards absolute-form requests on its plain port (tabi). */
  readonly http?: boolean;
  /** The process whose tree is measured; undefined for direct. */
  readonly pid?: number;
}

/** How to start one kind of server on `port`; `tls` is the certificate to serve, for a kind that can. */
interface ServerKind {
  readonly name: string;
  readonly start: (port: number, work: string, tls?: BenchCert) => { command: string; args: string[] };
  /** Serves TLS with `tls` given (tabi in one process: the TLS figures measure these). */
  readonly tls?: boolean;
  /** Speaks HTTP on its plain port (tabi, whose `serve` answers SOCKS and HTTP on every listener by default). */
  readonly http?: boolean;
  /** False for a server that logs every connection to stderr with no way to turn it off (microsocks). */
  readonly stderr?: boolean;
  /** Run only when `--only` names it. */
  readonly optIn?: boolean;
}

const bin = (name: string) => join("node_modules", ".bin", name);
// Every benchmark client comes from 127.0.0.1: the per-address limits would refuse the 2,000 idle tunnels.
const tabiArgs = (port: number) => [
  "serve",
  "--listen",
  `127.0.0.1:${port}`,
  "--quiet",
  "--max-clients-per-address",
  "100000",
  "--max-handshakes",
  "100000",
];

/** How each runtime runs the CLI. */
const TABI_RUNTIMES: readonly { readonly name: string; readonly command: string; readonly prefix: string[] }[] = [
  // Deno and Node as `npm start` and the npm bin run them: V8's young generation capped at 1 MB per semi-space.
  { name: "deno", command: bin("deno"), prefix: ["run", "-A", "--v8-flags=--max-semi-space-size=1", "cli/main.ts"] },
  { name: "bun", command: bin("bun"), prefix: ["cli/main.ts"] },
  // The npm bin (bench/run.ts builds it first), not tsx: tsx keeps function names by giving every closure a
  // property, a few KB per idle tunnel that the shipped bundle does not have.
  { name: "node", command: "node", prefix: ["--max-semi-space-size=1", "dist/tabi.mjs"] },
];

/** tabi under each runtime, alone (`tabi-bun`) and with `--workers 2` and `--workers auto` (`tabi-bun-w2` ...). */
const TABI_KINDS: readonly ServerKind[] = ["", "2", "auto"].flatMap((workers) =>
  TABI_RUNTIMES.map((runtime) => ({
    name: `tabi-${runtime.name}${workers ? `-w${workers}` : ""}`,
    start: (port: number, _work: string, tls?: BenchCert) => ({
      command: runtime.command,
      args: [
        ...runtime.prefix,
        ...tabiArgs(port),
        ...(workers ? ["--workers", workers] : []),
        ...(tls ? ["--tls-cert", tls.cert, "--tls-key", tls.key] : []),
      ],
    }),
    tls: !workers,
    http: true,
  }))
);

/**
 * Each runtime's floor (bench/peers/bare_socks5_*): a SOCKS5 server with only what a benchmark tunnel needs, run as
 * tabi runs under that runtime: whatever tabi's figure, the runtime itself allows no better than this, which tells a
 * cost of tabi's own from one of the runtime. Measured for every figure, in the same order as tabi: under Node, one
 * tunnel's throughput after the flood figure is about 0.65x that of a fresh process (kernel time per byte up 1.6x),
 * for tabi and the bare server alike, so a floor measured fresh would not be comparable.
 */
const BARE_KINDS: readonly ServerKind[] = [
  {
    name: "bare-deno",
    command: bin("deno"),
    args: ["run", "-A", "--v8-flags=--max-semi-space-size=1"],
    file: "deno.ts",
  },
  { name: "bare-bun", command: bin("bun"), args: [], file: "bun.mjs" },
  { name: "bare-node", command: "node", args: ["--max-semi-space-size=1"], file: "node.mjs" },
].map(({ name, command, args, file }) => ({
  name,
  start: (port: number) => ({ command, args: [...args, `bench/peers/bare_socks5_${file}`, String(port)] }),
}));

/**
 * Each runtime's streams floor (bench/peers/streams_socks5.ts): the bare server's work done on tabi's own I/O (the
 * adapter, the handshake through the connection's WHATWG streams and a ByteReader, the relay with its native path)
 * and nothing else. It tells the cost of the handshake on streams (streams over bare) from that of the rest of tabi
 * (tabi over streams). Not in a default run (`--only streams-deno,...` asks for it): it answers a question about
 * tabi's design, not one of the targets. Node runs a bundle of it, as it runs tabi.
 */
const STREAMS_KINDS: readonly ServerKind[] = [
  {
    name: "streams-deno",
    start: (port) => ({
      command: bin("deno"),
      args: ["run", "-A", "--v8-flags=--max-semi-space-size=1", "bench/peers/streams_socks5.ts", String(port)],
    }),
    optIn: true,
  },
  {
    name: "streams-bun",
    start: (port) => ({ command: bin("bun"), args: ["bench/peers/streams_socks5.ts", String(port)] }),
    optIn: true,
  },
  {
    name: "streams-node",
    start: (port, work) => {
      const bundle = join(work, "streams_socks5.mjs");
      execFileSync(bin("esbuild"), [
        "bench/peers/streams_socks5.ts",
        "--bundle",
        "--platform=node",
        "--format=esm",
        "--target=node20",
        "--log-level=warning",
        `--outfile=${bundle}`,
      ]);
      return { command: "node", args: ["--max-semi-space-size=1", bundle, String(port)] };
    },
    optIn: true,
  },
];

/** Every server the bench knows, in the order runs visit them. */
export const SERVER_KINDS: readonly ServerKind[] = [
  ...TABI_KINDS,
  {
    name: "microsocks",
    start: (port) => ({ command: "microsocks", args: ["-i", "127.0.0.1", "-p", String(port)] }),
    stderr: false,
  },
  {
    name: "dante",
    start: (port, work) => {
      const config = join(work, "danted.conf");
      writeFileSync(
        config,
        [
          "logoutput: /dev/null",
          `internal: 127.0.0.1 port = ${port}`,
          "external: 127.0.0.1",
          "clientmethod: none",
          "socksmethod: none",
          "user.privileged: root",
          "user.unprivileged: nobody",
          "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }",
          "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }",
          "",
        ].join("\n"),
      );
      return { command: findPeer("danted") ?? "danted", args: ["-f", config] };
    },
  },
  { name: "socksv5", start: (port) => ({ command: "node", args: ["bench/peers/socksv5_server.mjs", String(port)] }) },
  ...BARE_KINDS,
  ...STREAMS_KINDS,
];

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Waits until something accepts on 127.0.0.1:port. */
async function waitForPort(port: number, child: ChildProcess, name: string): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (up) return;
    if (Date.now() > until) throw new Error(`${name} did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The servers of one benchmark, started together. */
export interface ServerSet {
  /** `direct` first, then the servers asked for, in {@link SERVER_KINDS} order. */
  readonly servers: readonly BenchServer[];
  /** Kills every server with its whole process tree (Dante's workers included). */
  stop(): Promise<void>;
}

/**
 * Starts the servers named in `names` (all when empty); with `tls`, the kinds that can serve it (tabi in one process)
 * serve that certificate too. With `cpu`, every server runs on that CPU alone (taskset: its threads and child
 * processes, Dante's workers and tabi's `--workers`, inherit it).
 */
export async function startServers(
  names: readonly string[],
  tls?: BenchCert,
  options: { cpu?: number } = {},
): Promise<ServerSet> {
  const work = mkdtempSync(join(tmpdir(), "tabi-bench-"));
  const servers: BenchServer[] = [{ name: "direct", address: "direct" }];
  const children: { child: ChildProcess; exited: Promise<void> }[] = [];
  const stop = async () => {
    for (const { child } of children) {
      for (const pid of child.pid ? processTree(child.pid).reverse() : []) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    }
    await Promise.all(children.map(({ exited }) => exited));
    rmSync(work, { recursive: true, force: true });
  };
  try {
    for (const kind of SERVER_KINDS) {
      if (names.length > 0 ? !names.includes(kind.name) : kind.optIn) continue;
      const port = await freePort();
      const start = kind.start(port, work, kind.tls ? tls : undefined);
      const { command, args } = pinned(options.cpu, start.command, start.args);
      const child = spawn(command, args, { stdio: ["ignore", "ignore", kind.stderr === false ? "ignore" : "inherit"] });
      children.push({ child, exited: new Promise((resolve) => child.once("close", () => resolve())) });
      await waitForPort(port, child, kind.name);
      servers.push({
        name: kind.name,
        address: `127.0.0.1:${port}`,
        pid: child.pid,
        tls: Boolean(kind.tls && tls),
        http: Boolean(kind.http),
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { servers, stop };
}
