/**
 * The one namespace launcher, shared by `tabi audit` and `tabi run`: the private place a program runs in: new network,
 * mount and PID namespaces (`unshare`, as root or through a user
 * namespace). Only loopback exists there, so nothing the program does can leave the machine; resolv.conf, hosts
 * and nsswitch.conf are the audit's, bind-mounted over /etc, so the program's own lookups reach the audit's DNS
 * responder; and when the audit (PID 1 there) ends, every process left in it ends too.
 *
 * The network namespace does not cover UNIX sockets that have a path: those are files. So the directories where
 * sockets live get empty tmpfs mounts of their own (/tmp, /var/tmp, /run and /var/run, /dev/shm): the host's nscd
 * (which glibc asks before DNS), D-Bus, docker.sock, X11 and any relay socket in /tmp are out of reach. Abstract
 * sockets belong to the network namespace and are out of reach already. A socket file anywhere else (a home
 * directory, /var/lib, /var/spool) is still reachable: the rest of the file system is the host's.
 *
 * @module
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { runtimeName } from "../lib/runtime/detect.ts";

/** Set in the environment of the audit re-run inside the namespace. */
export const INSIDE_ENV = "TABI_AUDIT_INSIDE";

/** The unshare flags: as root directly, otherwise through a user namespace that maps us to root. */
export function unshareFlags(): string[] {
  const root = process.getuid?.() === 0;
  return [
    "--net",
    "--mount",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount-proc",
    ...(root ? [] : ["--map-root-user"]),
  ];
}

function exitCodeOf(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: "ignore" });
    child.on("error", () => resolve(127));
    child.on("close", (code) => resolve(code ?? 1));
  });
}

/** True when this machine lets us make the namespaces (and has `ip` to bring loopback up in them). */
export async function namespaceAvailable(): Promise<boolean> {
  return await exitCodeOf("unshare", [...unshareFlags(), "--", "ip", "link", "set", "lo", "up"]) === 0;
}

/** The command that runs this same CLI again, under the same runtime. */
export function selfCommand(): [string, string[]] {
  const main = process.argv[1];
  if (runtimeName() === "deno") return [process.execPath, ["run", "-A", main]];
  // Node's loader flags (tsx's --import) are in execArgv; Bun's are empty.
  return [process.execPath, [...process.execArgv, main]];
}

async function must(command: string, args: string[]): Promise<void> {
  const code = await exitCodeOf(command, args);
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${code})`);
}

/**
 * The directories that get an empty tmpfs of their own in the audit, and its mode: where the host's UNIX sockets
 * live (the FHS's /run and /tmp, and the places programs put their own).
 */
export const PRIVATE_DIRECTORIES = {
  "/tmp": "1777",
  "/var/tmp": "1777",
  "/run": "0755",
  // Mostly a link to /run (then covered by it), but a directory of its own on some systems.
  "/var/run": "0755",
  "/dev/shm": "1777",
} as const;

/**
 * The real path of `command` on the PATH (or the name itself when it is not found there): found before /tmp is
 * hidden, since the PATH may lead through it.
 */
function onPath(command: string): string {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir === "") continue;
    try {
      return realpathSync(join(dir, command));
    } catch {
      // Not in this one.
    }
  }
  return command;
}

/** Mounts an empty tmpfs over each of {@link PRIVATE_DIRECTORIES} that is a directory (not a link) here. */
async function privateDirectories(mount: string): Promise<void> {
  // What this very process still needs (its working directory, its own code, its runtime) may live under one of
  // them, as a checkout in /tmp does: kept reachable through a descriptor opened before the tmpfs hides it, then
  // bind-mounted back at its own path (a runtime that spawns with its working directory's path needs it there).
  const needed = [...new Set([process.cwd(), ownRoot(), dirname(process.execPath)].map((path) => realpathOr(path)))];
  for (const [path, mode] of Object.entries(PRIVATE_DIRECTORIES)) {
    let directory = false;
    try {
      directory = lstatSync(path).isDirectory();
    } catch {
      // Absent here: nothing to hide.
    }
    if (!directory) continue;
    const kept = needed.filter((keep) => keep.startsWith(`${path}/`)).map((keep) => ({
      keep,
      fd: openSync(keep, "r"),
    }));
    try {
      await must(mount, ["-t", "tmpfs", "-o", `mode=${mode},nosuid,nodev`, "tabi-audit", path]);
      for (const { keep, fd } of kept) {
        mkdirSync(keep, { recursive: true });
        // --no-canonicalize: mount(8) would otherwise resolve the descriptor's path to the new, empty one.
        await must(mount, ["--no-canonicalize", "--bind", `/proc/${process.pid}/fd/${fd}`, keep]);
      }
    } finally {
      for (const { fd } of kept) closeSync(fd);
    }
  }
  // The user's runtime directory (XDG_RUNTIME_DIR, under /run/user) exists again, empty and theirs alone.
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  if (runtimeDir?.startsWith("/run/")) mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
}

/** The checkout or installation this CLI runs from: two levels above cli/main.ts (or the bundle's dist/). */
function ownRoot(): string {
  return resolve(dirname(process.argv[1] ?? "."), "..");
}

/** `path` with its links resolved, or as it is when it cannot be. */
function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Where a path ends up after following symbolic links (as many as 8), even when the last target is missing. */
function followLinks(path: string): string {
  for (let i = 0; i < 8; i++) {
    try {
      if (!lstatSync(path).isSymbolicLink()) return path;
    } catch {
      return path; // Missing: this is where it would be.
    }
    path = resolve(dirname(path), readlinkSync(path));
  }
  return path;
}

/**
 * Inside the namespace: loopback up; the directories that hold the host's UNIX sockets private and empty; and the
 * audit's resolv.conf (its responder on 127.0.0.1), hosts (localhost and this machine's name only) and
 * nsswitch.conf (files, then DNS) over the system's. Call it before anything is written to /tmp.
 */
export async function prepareNamespace(): Promise<void> {
  await must("ip", ["link", "set", "lo", "up"]);
  const mount = onPath("mount");
  await privateDirectories(mount);
  const dir = mkdtempSync(join("/tmp", "tabi-audit-etc-"));
  const files: [string, string][] = [
    ["resolv.conf", "nameserver 127.0.0.1\noptions attempts:1 timeout:2\n"],
    ["hosts", `127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n127.0.1.1 ${hostname()}\n`],
  ];
  if (existsSync("/etc/nsswitch.conf")) {
    // The system's, with hosts from files then DNS only (no mDNS, no systemd-resolved that would bypass us).
    const system = readFileSync("/etc/nsswitch.conf", "utf8");
    files.push([
      "nsswitch.conf",
      /^hosts:/m.test(system) ? system.replace(/^hosts:.*$/m, "hosts: files dns") : `${system}\nhosts: files dns\n`,
    ]);
  }
  for (const [name, text] of files) {
    const link = join("/etc", name);
    if (existsSync(link)) {
      const source = join(dir, name);
      writeFileSync(source, text);
      await must(mount, ["--bind", source, link]);
    } else if (followLinks(link) !== link) {
      // A link into a directory now private (systemd-resolved's /etc/resolv.conf -> /run/systemd/resolve/...):
      // the file is written where the link leads, in the audit's own tmpfs.
      const target = followLinks(link);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, text);
    }
  }
}
