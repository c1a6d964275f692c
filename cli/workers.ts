/**
 * `tabi serve --workers N`: the main process starts N worker processes that each run the whole server and accept
 * on every listen address through the runtime's own port sharing (SO_REUSEPORT under Deno and Bun, node:cluster
 * under Node 20, which has no reusePort). The main process accepts nothing itself: it passes signals on (SIGTERM
 * and SIGINT drain every worker with the same grace, SIGHUP reloads each), restarts a worker that dies, and serves
 * `/metrics` with the counters of all workers added up.
 *
 * Main and worker talk over the worker's stdin and stdout, one JSON object a line (stderr is the worker's log and
 * goes straight through): the worker says `{"ready": [...]}` once it listens, and answers each `metrics` line with
 * `{"metrics": snapshot}`. A worker whose stdin ends (its main process is gone) stops as if told SIGTERM.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import cluster from "node:cluster";
import process from "node:process";
import { runtimeName } from "../lib/runtime/detect.ts";
import type { Endpoint, Network } from "../lib/net/network.ts";
import { emptySnapshot, formatPrometheus, type MetricsSnapshot, sumSnapshots } from "../lib/server/metrics.ts";
import { formatEndpoint } from "../lib/net/endpoint.ts";
import { QUIET_RUNTIME_ENV } from "./quiet_runtime.ts";

/** The environment variable that makes a `tabi serve` process worker number N (from 0). */
export const WORKER_ENV = "TABI_WORKER";
/** The environment variable that gives a worker its listen addresses (JSON), ports already chosen. */
const LISTEN_ENV = "TABI_WORKER_LISTEN";
/** How long the main process waits for a worker's metrics before using what it last said. */
const METRICS_WAIT_MS = 2000;
/** A worker that dies sooner than this after it started is restarted after a pause, not at once. */
const QUICK_DEATH_MS = 2000;

/** This process's worker number, when it is a worker. */
export function workerIndex(): number | undefined {
  const text = process.env[WORKER_ENV];
  return text !== undefined && /^[0-9]+$/.test(text) ? Number(text) : undefined;
}

/** The listen addresses the main process chose for this worker, if any. */
export function workerListen(): Endpoint[] | undefined {
  const text = process.env[LISTEN_ENV];
  return text === undefined ? undefined : JSON.parse(text) as Endpoint[];
}

/** One line of the worker's side of the channel. */
function send(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Splits a byte stream into lines and hands each to `onLine`. */
function onLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = "";
  stream.on("data", (chunk: Uint8Array | string) => {
    buffered += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
    let newline;
    while ((newline = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.trim() !== "") onLine(line);
    }
  });
}

/**
 * The worker's side: reports that it listens, answers metrics requests, and calls `stop` when the main process
 * goes away.
 */
export function serveAsWorker(addresses: readonly Endpoint[], metrics: () => MetricsSnapshot, stop: () => void): void {
  onLines(process.stdin, (line) => {
    if (line.trim() === "metrics") send({ metrics: metrics() });
  });
  process.stdin.on("end", stop);
  process.stdin.on("error", stop);
  send({ ready: addresses.map(formatEndpoint) });
}

/** A worker as the main process sees it. */
interface Worker {
  readonly index: number;
  child: ChildProcess;
  started: number;
  ready: boolean;
  /** A SIGHUP arrived while it was starting: it gets one once it says it is ready. */
  reloadHeld: boolean;
  last: MetricsSnapshot;
  waiting: ((snapshot: MetricsSnapshot) => void)[];
}

/** The main process's view of its workers. */
export interface WorkerPool {
  /** Resolves once every worker listens; rejects when one exits before that (the others are killed). */
  readonly ready: Promise<void>;
  /** The Prometheus text of every worker (and of workers that died), added up. */
  metrics(): Promise<string>;
  /** True until {@link WorkerPool.stop}. */
  accepting(): boolean;
  /** Passes a signal to every worker; a SIGHUP reaches a worker that is still starting once it is ready. */
  signal(signal: "SIGHUP" | "SIGTERM" | "SIGKILL"): void;
  /** Tells every worker to drain (SIGTERM) and resolves once all have exited. */
  stop(): Promise<void>;
  /** The worker processes' ids, by worker number. */
  pids(): number[];
}

/** Chooses a port for every `:0` listen address, so that all workers listen on the same one. */
export async function fixPorts(network: Network, listen: readonly Endpoint[]): Promise<Endpoint[]> {
  const out: Endpoint[] = [];
  for (const l of listen) {
    if (l.port !== 0) {
      out.push(l);
      continue;
    }
    // Listen on a free port and let it go at once: the workers take it a moment later.
    const probe = await network.listen(l, (c) => c.close());
    out.push({ hostname: l.hostname, port: probe.address.port });
    await probe.close();
  }
  return out;
}

/**
 * Signals a worker. process.kill, not child.kill: Deno's child.kill sends the first signal only and ignores later
 * ones (and closes the child's stdin), so a SIGHUP would stop every later SIGTERM.
 */
function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    // Gone in the meantime: its exit handler deals with it.
  }
}

/** Starts worker process number `index` running `tabi ARGS` under this runtime. */
function startProcess(index: number, args: readonly string[], listen: readonly Endpoint[]): ChildProcess {
  // Quiet: a worker has no business with Deno's update check (a DNS lookup at every start and restart).
  const env = {
    ...process.env,
    ...QUIET_RUNTIME_ENV,
    [WORKER_ENV]: String(index),
    [LISTEN_ENV]: JSON.stringify(listen),
  };
  const runtime = runtimeName();
  if (runtime === "node") {
    // Node 20 has no reusePort: node:cluster workers share the main process's listening socket instead.
    cluster.setupPrimary({ args: [...args], stdio: ["pipe", "pipe", "inherit", "ipc"] });
    return cluster.fork(env).process;
  }
  // Deno's reusePort is behind --unstable-net; Bun's is not.
  const runtimeArgs = runtime === "deno" ? ["run", "-A", "--unstable-net"] : [];
  return spawn(process.execPath, [...runtimeArgs, process.argv[1], ...args], {
    env,
    stdio: ["pipe", "pipe", "inherit"],
  });
}

/**
 * Starts `count` workers running `tabi ARGS` (the same command line as this one) on `listen`.
 */
export function startWorkers(
  count: number,
  args: readonly string[],
  listen: readonly Endpoint[],
  output: { readonly err: (text: string) => void },
): WorkerPool {
  let stopping = false;
  let retired = emptySnapshot();
  const workers: Worker[] = [];
  let markReady: () => void;
  let failStart: (error: Error) => void;
  let started = false;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = () => {
      started = true;
      resolve();
    };
    failStart = reject;
  });
  const exits = new Map<number, Promise<void>>();

  const launch = (index: number, restarted = false) => {
    const child = startProcess(index, args, listen);
    const worker: Worker = workers[index] ?? {
      index,
      child,
      started: 0,
      ready: false,
      reloadHeld: false,
      last: emptySnapshot(),
      waiting: [],
    };
    worker.child = child;
    worker.started = Date.now();
    worker.ready = false;
    worker.last = emptySnapshot();
    worker.waiting = [];
    workers[index] = worker;
    child.stdin!.on("error", () => {});
    onLines(child.stdout!, (line) => {
      let message: { ready?: string[]; metrics?: MetricsSnapshot };
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (message.ready) {
        // A replacement says so: the log shows the gap closed.
        if (restarted) output.err(`tabi: worker ${index} is back (pid ${child.pid})\n`);
        worker.ready = true;
        if (worker.reloadHeld) {
          // Its SIGHUP handler is installed before it says ready: the reload held for it is safe to deliver now.
          worker.reloadHeld = false;
          kill(child, "SIGHUP");
        }
        if (workers.every((w) => w?.ready) && workers.length === count) markReady();
      }
      if (message.metrics) {
        worker.last = message.metrics;
        worker.waiting.shift()?.(message.metrics);
      }
    });
    exits.set(
      index,
      new Promise<void>((resolve) =>
        child.once("exit", (code, signal) => {
          // What it counted up to its last report is kept; its open connections are gone with it.
          retired = sumSnapshots([retired, { ...worker.last, active: 0, udpActive: 0 }]);
          // A reload from now until its replacement is ready is held for the replacement.
          worker.ready = false;
          for (const waiter of worker.waiting.splice(0)) waiter(emptySnapshot());
          resolve();
          if (stopping) return;
          const how = signal ? `signal ${signal}` : `code ${code}`;
          if (!started) {
            // A worker that cannot start (a port in use, a bad option) would fail again: give up, all of them.
            stopping = true;
            for (const other of workers) kill(other.child, "SIGKILL");
            failStart(new Error(`worker ${index} exited (${how}) before it listened`));
            return;
          }
          const pause = Date.now() - worker.started < QUICK_DEATH_MS ? 1000 : 0;
          output.err(`tabi: worker ${index} (pid ${child.pid}) exited (${how}); starting a new one\n`);
          setTimeout(() => stopping || launch(index, true), pause);
        })
      ),
    );
  };
  for (let i = 0; i < count; i++) launch(i);

  const ask = (worker: Worker): Promise<MetricsSnapshot> => {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) return Promise.resolve(emptySnapshot());
    return new Promise<MetricsSnapshot>((resolve) => {
      const answer = (snapshot: MetricsSnapshot) => {
        clearTimeout(timer);
        resolve(snapshot);
      };
      worker.waiting.push(answer);
      const timer = setTimeout(() => {
        worker.waiting.splice(worker.waiting.indexOf(answer), 1);
        resolve(worker.last);
      }, METRICS_WAIT_MS);
      worker.child.stdin!.write("metrics\n");
    });
  };

  return {
    ready,
    accepting: () => !stopping,
    async metrics() {
      const snapshots = await Promise.all(workers.map(ask));
      return formatPrometheus(sumSnapshots([retired, ...snapshots]));
    },
    signal(signal) {
      for (const worker of workers) {
        if (signal === "SIGHUP" && !worker.ready) {
          // A worker still starting has no SIGHUP handler yet, and SIGHUP's default action would kill it (and at
          // startup, the whole server with it): hold one reload for it until it says it is ready.
          worker.reloadHeld = true;
        } else kill(worker.child, signal);
      }
    },
    async stop() {
      stopping = true;
      for (const worker of workers) kill(worker.child, "SIGTERM");
      await Promise.all(workers.map((w) => exits.get(w.index)));
    },
    pids: () => workers.map((w) => w.child.pid ?? 0),
  };
}
