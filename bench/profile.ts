/**
 * A CPU profile of tabi under Deno while socksbench drives the `rate` load (16 concurrent clients opening 1-byte
 * echo tunnels), with Deno's flame graph (SVG) and markdown report, and a summary of where the time goes.
 *
 *   ./node_modules/.bin/deno run -A bench/profile.ts [SECONDS]
 *
 * Writes bench/results/profile-rate/ (the .cpuprofile, the flame graph and the report) and prints the top functions
 * by self time.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { freePort } from "./servers.ts";
import { startSocksbench } from "./socksbench.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const seconds = Number(process.argv[2] ?? 10);
const dir = join("bench", "results", "profile-rate");
// Profile URLs are file:// URLs; shown relative to the repository, wherever it is checked out.
const repoRoot = new URL("..", import.meta.url).href;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const bench = await startSocksbench();
const port = await freePort();
const tabi = spawn(
  join("node_modules", ".bin", "deno"),
  [
    "run",
    "-A",
    `--cpu-prof-dir=${dir}`,
    "--cpu-prof-flamegraph",
    "--cpu-prof-md",
    "cli/main.ts",
    "serve",
    "--listen",
    `127.0.0.1:${port}`,
    "--quiet",
  ],
  { stdio: ["ignore", "inherit", "inherit"] },
);
const exited = new Promise((resolve) => tabi.once("close", resolve));
await new Promise((resolve) => setTimeout(resolve, 2000));
const result = await bench.run(["rate", `127.0.0.1:${port}`, bench.echo, "16", String(seconds)]);
console.log(`rate under the profiler: ${JSON.stringify(result)}`);
tabi.kill("SIGINT");
await exited;
bench.stop();

const file = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"));
if (!file) throw new Error(`no profile written in ${dir}`);
const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nodes: ProfileNode[] };
const selfHits = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  total += hits;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${url.replace(repoRoot, "").replace(/^file:\/\//, "")}:${lineNumber + 1}` : "";
  const key = `${functionName || "(anonymous)"} ${where}`.trim();
  selfHits.set(key, (selfHits.get(key) ?? 0) + hits);
}
console.log(`\ntop functions by self time (${total} samples):`);
for (const [key, hits] of [...selfHits].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  console.log(`${(100 * hits / total).toFixed(1).padStart(5)} %  ${key}`);
}
console.log(`\nfiles: ${readdirSync(dir).map((name) => join(dir, name)).join(", ")}`);
