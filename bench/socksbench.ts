/**
 * socksbench (bench/socksbench.c, the project's load generator), built once per benchmark, with its sink, echo and
 * HTTP targets.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn, type StdioOptions } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { pinned } from "./pin.ts";
import { freePort } from "./servers.ts";

/** One output line of socksbench as numbers: `rate_per_s=9000 failures=0 ...`. */
export type Figures = Record<string, number>;

/** A built socksbench with its sink (for tput), echo (for rate and idle) and httpd (for fwd) targets running. */
export interface Socksbench {
  readonly sink: string;
  readonly echo: string;
  /** An HTTP server answering every request with a 2-byte 200 (`socksbench httpd`), the target of `fwd`. */
  readonly httpd: string;
  /** Runs one socksbench command to its end and returns the figures of its last line. */
  run(args: string[]): Promise<Figures>;
  /** Runs `idle`, calling `whileHolding` once every tunnel is open; returns the final figures. */
  idle(proxy: string, conns: number, holdSeconds: number, whileHolding: (open: number) => void): Promise<Figures>;
  /** The pids of the targets (sink, echo, httpd), to check their pinning. */
  readonly targetPids: readonly number[];
  stop(): void;
}

function parseFigures(line: string): Figures {
  const figures: Figures = {};
  for (const [, key, value] of line.matchAll(/(\w+)=([-\d.]+)/g)) figures[key] = Number(value);
  return figures;
}

function lines(child: ChildProcess, onLine: (line: string) => void): Promise<number | null> {
  let buffered = "";
  child.stdout!.on("data", (chunk: Uint8Array) => {
    buffered += new TextDecoder().decode(chunk);
    for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
      onLine(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
    }
  });
  return new Promise((resolve) => child.once("close", resolve));
}

/**
 * Builds socksbench with gcc (and OpenSSL, for its +tls modes) and starts its targets. `ca` is the CA file its +tls
 * modes trust the proxy's certificate by (bench/tls_cert.ts); with `cpu`, the targets and every run are on that CPU
 * alone (taskset).
 */
export async function startSocksbench(options: { ca?: string; cpu?: number } = {}): Promise<Socksbench> {
  const work = mkdtempSync(join(tmpdir(), "socksbench-"));
  const binary = join(work, "socksbench");
  const source = fileURLToPath(new URL("./socksbench.c", import.meta.url));
  execFileSync("gcc", ["-O2", "-pthread", "-o", binary, source, "-lssl", "-lcrypto"]);
  const env = options.ca ? { ...process.env, SOCKSBENCH_CA: options.ca } : process.env;
  const [sinkPort, echoPort, httpdPort] = [await freePort(), await freePort(), await freePort()];
  const start = (args: string[], stdio: StdioOptions, env?: NodeJS.ProcessEnv) => {
    const command = pinned(options.cpu, binary, args);
    return spawn(command.command, command.args, { stdio, env });
  };
  const targets = [
    start(["sink", String(sinkPort)], "ignore"),
    start(["echo", String(echoPort)], "ignore"),
    start(["httpd", String(httpdPort)], "ignore"),
  ];
  await new Promise((resolve) => setTimeout(resolve, 300));
  const run = async (args: string[]) => {
    const child = start(args, ["ignore", "pipe", "inherit"], env);
    let last = "";
    await lines(child, (line) => (last = line));
    return parseFigures(last);
  };
  return {
    sink: `127.0.0.1:${sinkPort}`,
    echo: `127.0.0.1:${echoPort}`,
    httpd: `127.0.0.1:${httpdPort}`,
    targetPids: targets.map((target) => target.pid!),
    run,
    async idle(proxy, conns, holdSeconds, whileHolding) {
      const child = start(["idle", proxy, `127.0.0.1:${echoPort}`, String(conns), String(holdSeconds)], [
        "ignore",
        "pipe",
        "inherit",
      ]);
      let last = "";
      await lines(child, (line) => {
        last = line;
        const open = /^idle_open=(\d+)/.exec(line);
        if (open) whileHolding(Number(open[1]));
      });
      return parseFigures(last);
    },
    stop() {
      for (const target of targets) target.kill("SIGKILL");
      rmSync(work, { recursive: true, force: true });
    },
  };
}
