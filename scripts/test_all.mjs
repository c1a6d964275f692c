#!/usr/bin/env node
// Runs every check and every test under Deno, Bun and Node 20 (tsx), then prints one line: "N passed, N failed".
// Usage: node scripts/test_all.mjs [--only deno|bun|node|checks]...   (npm test runs it all)
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

const bin = (name) => join("node_modules", ".bin", name);
// The package's entries at the root (mod.ts, wire.ts, ...), whose doc examples run like lib/'s.
const rootEntries = readdirSync(".").filter((name) => name.endsWith(".ts")).sort();
const only = process.argv.flatMap((a, i, all) => (all[i - 1] === "--only" ? [a] : []));
const wanted = (group) => only.length === 0 || only.includes(group);

function testFiles(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith("_test.ts") ? [path] : [];
  });
}

/** Runs a command, echoing its output, and resolves with its exit code and captured text. */
function run(command, args, env = {}) {
  return new Promise((resolve) => {
    console.log(`\n$ ${command} ${args.join(" ")}`);
    const child = spawn(command, args, {
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    const onData = (stream) => (chunk) => {
      text += chunk;
      stream.write(chunk);
    };
    child.stdout.on("data", onData(process.stdout));
    child.stderr.on("data", onData(process.stderr));
    child.on("close", (code) => resolve({ code: code ?? 1, text }));
  });
}

const number = (text, re) => {
  const m = text.match(re);
  return m ? Number(m[1]) : 0;
};

// Each runner's summary, counted at the level of `it` (tests are describe -> it, one level deep).
const parsers = {
  deno: (t) => ({
    passed: number(t, /\| \d+ passed \((\d+) steps?\)/),
    failed: number(t, /\| \d+ failed \((\d+) steps?\)/) || number(t, /\| (\d+) failed/),
    skipped: number(t, /\| \d+ ignored \((\d+) steps?\)/),
  }),
  denoDoc: (t) => ({ passed: number(t, /\| (\d+) passed/), failed: number(t, /\| (\d+) failed/), skipped: 0 }),
  bun: (t) => ({
    passed: number(t, /^\s*(\d+) pass$/m),
    // A failed `before` hook (a missing peer) is an "error" outside any test: it counts as a failure.
    failed: number(t, /^\s*(\d+) fail$/m) + number(t, /^\s*(\d+) errors?$/m),
    skipped: number(t, /^\s*(\d+) skip$/m),
  }),
  node: (t) => ({
    passed: number(t, /^# pass (\d+)$/m),
    // Tests cancelled by a failed `before` hook (a missing peer) did not pass: they count as failures.
    failed: number(t, /^# fail (\d+)$/m) + number(t, /^# cancelled (\d+)$/m),
    skipped: number(t, /^# skipped (\d+)$/m),
  }),
};

// The names of the failed tests, so the end of the output says which ones without scrolling back.
const failures = {
  deno: (t) => {
    const section = t.split(/^ FAILURES $/m)[1] ?? "";
    return section.split("\n").filter((line) => line.includes(" => ")).map((line) => line.trim());
  },
  denoDoc: (t) => failures.deno(t),
  bun: (t) => t.split("\n").filter((line) => line.startsWith("(fail) ")).map((line) => line.slice(7).trim()),
  node: (t) => t.split("\n").filter((line) => /^\s*not ok \d+ - /.test(line)).map((line) => line.trim()),
};

const files = testFiles("tests");
const suites = [
  ["checks", "deno fmt --check", bin("deno"), ["fmt", "--check"], null],
  ["checks", "deno lint", bin("deno"), ["lint"], null],
  ["checks", "deno check", bin("deno"), [
    "check",
    "mod.ts",
    "cli/main.ts",
    "bench/run.ts",
    "bench/fuzz.ts",
    "bench/profile.ts",
    ...files,
  ], null],
  ["checks", "deno publish --dry-run", bin("deno"), ["publish", "--dry-run", "--allow-dirty"], null],
  ["checks", "layers (cycles, runtime globals, lib/wire)", process.execPath, ["scripts/check_layers.mjs"], null],
  ["checks", "deno doc --lint", bin("deno"), [
    "doc",
    "--lint",
    ...Object.values(JSON.parse(readFileSync("deno.json", "utf8")).exports),
  ], null],
  ["deno", "deno doc examples", bin("deno"), [
    "test",
    "-A",
    "--doc",
    "lib/",
    "cli/",
    ...rootEntries,
  ], "denoDoc"],
  ["deno", "deno test", bin("deno"), ["test", "-A", "--no-check", ...files], "deno"],
  ["bun", "bun test", bin("bun"), ["test", "--timeout", "60000", ...files.map((f) => `./${f}`)], "bun"],
  // --test-force-exit: a test file ends when its tests do (Node 20 can spin forever at a natural exit in its handle
  // cleanup when a child process, such as tsx's esbuild service, ends at that moment: seen once in a full run).
  ["node", "node (tsx) test", bin("tsx"), ["--test", "--test-force-exit", "--test-reporter=tap", ...files], "node"],
].filter(([group]) => wanted(group));

const rows = [];
// The Debian peers first (scripts/peers.txt): installed when missing as root, else a message naming them. The run
// goes on either way; a test whose peer is missing fails naming it, and this row fails so the summary says why.
let peersMessage = "";
if (only.length === 0 || only.some((group) => group !== "checks")) {
  const { code, text } = await run(process.execPath, ["scripts/install_peers.mjs", "--strict"]);
  if (code !== 0) peersMessage = text.trim();
  rows.push({ name: "test peers installed", passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 });
}
for (const [, name, command, args, parser] of suites) {
  const { code, text } = await run(command, args);
  if (parser === null) {
    rows.push({ name, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 });
    continue;
  }
  const counts = parsers[parser](text);
  // A runner that exits non-zero, or ran nothing, fails even if its summary was not what we parse.
  if ((code !== 0 && counts.failed === 0) || counts.passed + counts.failed === 0) counts.failed += 1;
  rows.push({ name, ...counts, failedTests: failures[parser](text) });
}

console.log("\n== summary ==");
for (const r of rows) {
  console.log(`${r.name}: ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ""}`);
}
const total = rows.reduce(
  (t, r) => ({ passed: t.passed + r.passed, failed: t.failed + r.failed, skipped: t.skipped + r.skipped }),
  {
    passed: 0,
    failed: 0,
    skipped: 0,
  },
);
for (const r of rows.filter((row) => (row.failedTests ?? []).length > 0)) {
  console.log(`\n${r.name} failed:`);
  for (const line of r.failedTests) console.log(`  ${line}`);
}
if (peersMessage !== "") console.log(`\n${peersMessage}\n`);
console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}`);
process.exitCode = total.failed === 0 ? 0 : 1;
