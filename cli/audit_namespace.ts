/**
 * The private place an audit runs in: new network, mount and PID namespaces (`unshare`, as root or through a user
 * namespace). Only loopback exists there, so nothing the program does can leave the machine; resolv.conf, hosts
 * and nsswitch.conf are the audit's, bind-mounted over /etc, so the program's own lookups reach the audit's DNS
 * responder; and when the audit (PID 1 there) ends, every process left in it ends too.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
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
 * Inside the namespace: loopback up, and the audit's resolv.conf (its responder on 127.0.0.1), hosts (localhost
 * and this machine's name only) and nsswitch.conf (files, then DNS) over the system's.
 */
export async function prepareNamespace(dir: string): Promise<void> {
  await must("ip", ["link", "set", "lo", "up"]);
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
    const target = join("/etc", name);
    if (!existsSync(target)) continue;
    const source = join(dir, name);
    writeFileSync(source, text);
    await must("mount", ["--bind", source, target]);
  }
}
