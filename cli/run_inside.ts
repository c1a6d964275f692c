/**
 * `tabi run`'s side inside the namespaces (PID 1 there): loopback up and every address routed to it, tabi's DNS port
 * as the resolver (on every address: a program that asks 8.8.8.8 gets the same answers), an nftables TPROXY rule
 * handing every TCP connection to the transparent port, and the program itself. Each captured connection goes to the
 * exit over the Unix socket the outer side listens on (socat carries it to a loopback port here). When the program
 * ends this process ends, and the kernel ends whatever the program left in the PID namespace.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import process from "node:process";
import { connect } from "../lib/client/connect.ts";
import { defaultNetwork } from "../lib/runtime/detect.ts";
import { makeTransparent } from "../lib/runtime/transparent.ts";
import { startDnsPort } from "../lib/server/dns_port.ts";
import { NameMap } from "../lib/server/name_map.ts";
import { startTransparentPort } from "../lib/server/transparent_port.ts";
import { formatHostPort } from "../lib/wire/address.ts";
import { prepareNamespace } from "./isolation.ts";
import type { CliOutput } from "./output.ts";

/** How long a program may take to end after SIGTERM before it is killed. */
const GRACE_MS = 10_000;

function must(command: string, args: string[], input?: string): void {
  const result = spawnSync(command, args, { input, encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr || result.error?.message || result.status}`);
  }
}

/** The nftables rules: every TCP connection to the transparent port, but the bridge's and the DNS port's. */
export function captureRules(capturePort: number, bridgePort: number): string {
  return `table inet tabi_run {
  chain prerouting {
    type filter hook prerouting priority mangle; policy accept;
    ip daddr 127.0.0.1 tcp dport ${bridgePort} accept
    tcp dport 53 accept
    meta nfproto ipv4 meta l4proto tcp tproxy ip to 127.0.0.1:${capturePort}
    meta nfproto ipv6 meta l4proto tcp tproxy ip6 to [::1]:${capturePort}
  }
}
`;
}

/** Runs inside the namespaces: `--inside DIR` then the command. Resolves with the program's exit code. */
export async function runInside(own: string[], command: string[], output: CliOutput): Promise<number> {
  // SIGTERM and SIGHUP come from the outer side: passed on. SIGTERM also starts the end: a program that outlives it
  // by GRACE_MS is killed, so that nothing stays behind. The terminal's SIGINT reaches the program itself. The
  // handlers go in first: this process is PID 1 of its namespace, and the kernel drops a signal from outside that
  // PID 1 has no handler for, so one that came before them would be lost (and the run would never end).
  // process.kill, not child.kill: Deno's child.kill makes the exit read as that signal, whatever the program did.
  let program: ReturnType<typeof spawn> | undefined;
  let terminated = false;
  let killer: ReturnType<typeof setTimeout> | undefined;
  const send = (signal: NodeJS.Signals) => {
    try {
      if (program?.pid !== undefined) process.kill(program.pid, signal);
    } catch {
      // Already gone.
    }
  };
  process.on("SIGTERM", () => {
    terminated = true;
    send("SIGTERM");
    if (program !== undefined) killer ??= setTimeout(() => send("SIGKILL"), GRACE_MS);
  });
  process.on("SIGHUP", () => send("SIGHUP"));
  process.on("SIGINT", () => {});
  const dir = own[own.indexOf("--inside") + 1];
  const network = await defaultNetwork();
  const nameMap = new NameMap();
  let bridge;
  try {
    // The outer side's directory (its exit socket) is usually under /tmp, which prepareNamespace hides behind a
    // private tmpfs (the program must not reach the host's sockets there): an open descriptor keeps a way to it, as
    // /proc/PID/fd/N/, which resolves to the directory itself whatever is mounted over its path.
    const dirFd = openSync(dir, "r");
    const exitSocket = `/proc/${process.pid}/fd/${dirFd}/exit.sock`;
    await prepareNamespace();
    // Every address is this machine's: a connection to any of them meets the TPROXY rule, and none has a way out.
    must("ip", ["route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "local"]);
    must("ip", ["-6", "route", "add", "local", "::/0", "dev", "lo", "table", "local"]);
    await startDnsPort(network, { hostname: "0.0.0.0", port: 53 }, nameMap);
    await startDnsPort(network, { hostname: "::1", port: 53 }, nameMap);
    // The bridge to the exit: a loopback port here, socat to the Unix socket of the outer side.
    const probe = await network.listen({ hostname: "127.0.0.1", port: 0 }, (c) => c.close());
    const bridgePort = probe.address.port;
    await probe.close();
    bridge = spawn("socat", [
      `TCP-LISTEN:${bridgePort},bind=127.0.0.1,fork,reuseaddr`,
      `UNIX-CONNECT:${exitSocket}`,
    ], { stdio: "ignore" });
    const exit = `socks5h://127.0.0.1:${bridgePort}`;
    const capture = await startTransparentPort(
      network,
      [{ hostname: "127.0.0.1", port: 0 }, { hostname: "::1", port: 0 }],
      nameMap,
      (destination) => connect(exit, formatHostPort(destination), { network }),
    );
    for (const address of capture.addresses) await makeTransparent(address);
    must("nft", ["-f", "-"], captureRules(capture.addresses[0].port, bridgePort));
    // Waits for socat to listen, without connecting (a connection would reach the exit and be logged there).
    const listening = `:${bridgePort.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 0A`;
    for (let i = 0; i < 250 && !readFileSync("/proc/net/tcp", "utf8").includes(listening); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } catch (error) {
    bridge?.kill("SIGTERM");
    output.err(`tabi run: cannot prepare the namespace: ${(error as Error).message}\n`);
    return 1;
  }
  if (terminated) {
    // Ended before the program started: it never runs.
    bridge.kill("SIGTERM");
    process.exit(128 + signalNumber("SIGTERM"));
  }
  const code = await new Promise<number>((resolve) => {
    const child = spawn(command[0], command.slice(1), { stdio: "inherit" });
    program = child;
    child.on("error", (error) => {
      output.err(`tabi run: cannot run ${command[0]}: ${error.message}\n`);
      resolve(127);
    });
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      resolve(code ?? 128 + signalNumber(signal));
    });
  });
  bridge.kill("SIGTERM");
  // PID 1 of the namespace: whatever is still running there ends with this process.
  process.exit(code);
}

/** The shell's convention for a program killed by a signal: 128 + its number. */
export function signalNumber(signal: string | null): number {
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
  return signal === null ? 0 : numbers[signal] ?? 0;
}
