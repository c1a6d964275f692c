/**
 * Real workerd for the Workers adapter's tests: bundles a Worker entry with esbuild the way a user (and the outside
 * check) would (bundle, ESM, --platform=neutral, cloudflare:* and node:* external), writes a capnp config with no
 * compatibility flag (so no nodejs_compat), whose outbound network may reach loopback (workerd's default refuses
 * it) and trusts the given CA certificates, starts the workerd binary from node_modules and waits for its port.
 * Only orchestration: it runs the same under Node, Deno and Bun.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitForPort } from "../../helpers/net.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** The workerd binary the npm package `workerd` installed (its platform package holds the executable). */
export function workerdBinary(): string {
  for (const path of ["node_modules/@cloudflare/workerd-linux-64/bin/workerd", "node_modules/workerd/bin/workerd"]) {
    if (existsSync(join(root, path))) return join(root, path);
  }
  throw new Error("workerd is not installed: npm ci (package.json has workerd as a devDependency)");
}

/** Bundles `entry` for a Worker as the outside check does; returns the bundle's path and size. */
export function bundleWorker(entry: string, outfile: string, minify = false): { path: string; bytes: number } {
  execFileSync(join(root, "node_modules/.bin/esbuild"), [
    entry,
    "--bundle",
    "--format=esm",
    "--platform=neutral",
    "--external:cloudflare:*",
    "--external:node:*",
    ...(minify ? ["--minify"] : []),
    "--log-level=warning",
    `--outfile=${outfile}`,
  ], { stdio: "pipe" });
  return { path: outfile, bytes: statSync(outfile).size };
}

/** A running workerd serving one Worker. */
export interface Workerd {
  /** The Worker's URL, e.g. `http://127.0.0.1:40123/`. */
  readonly url: string;
  /** workerd's output so far. */
  output(): string;
  /** Posts one JSON op to the Worker and returns its JSON answer. */
  call<T = Record<string, unknown>>(op: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The capnp text form of a string. */
const capnpString = (text: string): string => JSON.stringify(text);

/** Bundles `entry` and starts workerd with it; `trustedCertificates` are PEM CA certificates for outbound TLS. */
export async function startWorkerd(entry: string, trustedCertificates: string[] = []): Promise<Workerd> {
  const dir = mkdtempSync(join(tmpdir(), "tabi-workerd-"));
  bundleWorker(entry, join(dir, "worker.js"));
  const port = await freePort();
  const tls = trustedCertificates.length === 0
    ? ""
    : `, tlsOptions = (trustedCertificates = [${trustedCertificates.map(capnpString).join(", ")}])`;
  writeFileSync(
    join(dir, "config.capnp"),
    [
      'using Workerd = import "/workerd/workerd.capnp";',
      "const config :Workerd.Config = (",
      "  services = [",
      '    (name = "main", worker = .worker),',
      // The default outbound refuses private and loopback addresses; the tests' peers all are on 127.0.0.1.
      `    (name = "lan", network = (allow = ["public", "private", "local"]${tls})),`,
      "  ],",
      `  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],`,
      ");",
      "const worker :Workerd.Worker = (",
      '  modules = [(name = "worker", esModule = embed "worker.js")],',
      '  compatibilityDate = "2025-01-01",',
      '  globalOutbound = "lan",',
      ");",
      "",
    ].join("\n"),
  );
  const child = spawn(workerdBinary(), ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Uint8Array) => (output += new TextDecoder().decode(chunk));
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const stop = async () => {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, "workerd", 20_000);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}: ${output}`);
  }
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    output: () => output,
    async call<T>(op: Record<string, unknown>): Promise<T> {
      const response = await fetch(url, { method: "POST", body: JSON.stringify(op) });
      const text = await response.text();
      if (!response.ok) throw new Error(`workerd answered ${response.status}: ${text}\n${output}`);
      return JSON.parse(text) as T;
    },
    stop,
  };
}
