#!/usr/bin/env node
// Installs the test peers of scripts/peers.txt that are missing. Run by `npm test` (scripts/test_all.mjs) and
// .ci/run, so the list and the way it is installed live in one place.
//
// As root with apt-get: one `apt-get update`, one `apt-get install` of the missing packages (each on its own if
// apt-get refuses the list), then the system daemons of the packages it installed are stopped (the tests start
// their own on free ports; daemons of packages that were already there are left alone). Otherwise it prints
// the missing packages and the command to run, and exits 0: the run goes on and each test whose peer is missing
// fails naming it. Exit code 1 only when peers are still missing and `--strict` was given.
//
// Usage: node scripts/install_peers.mjs [--check] [--strict]
//   --check   never install, only report
// TABI_PEER_PATH=DIR[:DIR...] looks for peers only there (to see what a machine without them gets).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";
import { findPeer, missingPeers, packagesOf, readPeers } from "./peers.mjs";

const checkOnly = process.argv.includes("--check");
const strict = process.argv.includes("--strict");
const peers = readPeers();
let missing = missingPeers(peers);

const has = (command) =>
  findPeer(command) !== undefined || spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const canInstall = !checkOnly && isRoot && process.env.TABI_PEER_PATH === undefined && has("apt-get");

/** Runs a command quietly; on failure shows the tail of its output. */
function quiet(command, args) {
  const result = spawnSync(command, args, {
    encoding: "utf8",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}${result.error?.message ?? ""}`;
    console.log(`tabi peers: ${command} ${args.join(" ")} failed (exit ${result.status}):`);
    console.log(output.trim().split("\n").slice(-15).join("\n"));
  }
  return result.status === 0;
}

/** Stops a system service with systemd when it runs the machine, else with the SysV `service` command. */
function stopService(service) {
  if (existsSync("/run/systemd/system") && has("systemctl")) {
    spawnSync("systemctl", ["stop", service], { stdio: "ignore" });
  } else if (has("service")) {
    spawnSync("service", [service, "stop"], { stdio: "ignore" });
  }
}

if (missing.length > 0 && canInstall) {
  const packages = packagesOf(missing);
  console.log(`tabi peers: installing ${packages.join(" ")} (apt-get, as root)`);
  // --no-install-recommends: torsocks recommends tor and prometheus its node exporter, daemons that would start and
  // reach out to the network; the tests need none of them.
  const install = (names) => quiet("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...names]);
  // One package this distribution lacks makes apt-get install none: then each on its own, to get the others.
  if (quiet("apt-get", ["update", "-qq"]) && !install(packages) && packages.length > 1) {
    for (const name of packages) install([name]);
  }
  for (const service of new Set(missing.flatMap((peer) => (peer.service ? [peer.service] : [])))) {
    stopService(service);
  }
  missing = missingPeers(peers);
}

if (missing.length === 0) {
  console.log(`tabi peers: all ${peers.length} installed`);
} else {
  const packages = packagesOf(missing).join(" ");
  const names = missing.map((peer) => (peer.command === peer.pkg ? peer.pkg : `${peer.command} (${peer.pkg})`));
  const why = checkOnly
    ? "--check: nothing installed"
    : !isRoot
    ? "not root: nothing installed"
    : !has("apt-get")
    ? "no apt-get here: nothing installed"
    : process.env.TABI_PEER_PATH !== undefined
    ? "TABI_PEER_PATH hides them: nothing installed"
    : "apt-get did not install them";
  console.log(
    [
      `tabi peers: MISSING ${missing.length} of ${peers.length} test peers (${why}): ${names.join(", ")}.`,
      "The tests that run them will fail, each naming its peer. To install them (Debian/Ubuntu), run as root (sudo):",
      `  apt-get update && apt-get install -y --no-install-recommends ${packages}`,
      "or run `npm test` as root, which does that. Elsewhere, install the same programs with your package manager.",
    ].join("\n"),
  );
}
process.exitCode = strict && missing.length > 0 ? 1 : 0;
