/**
 * `tabi run [--proxy URL]... [serve options] -- COMMAND [ARG...]`: runs a program that cannot reach the network
 * except through tabi. The program runs in new network, mount and PID namespaces (the audit's launcher,
 * audit_namespace.ts) where only loopback exists and every address is routed to it; tabi's DNS port answers every
 * lookup with mapped addresses, and an nftables TPROXY rule hands every TCP connection, to any address and port, to
 * tabi's transparent port (run_inside.ts). From there each goes as a name (or the literal address the program used)
 * to the exit: a tabi server in this process, on the machine's own network, with the serve options' rules and log,
 * and `--proxy` as its upstream chain. The two sides meet on a Unix socket in a private directory (socat carries it
 * on each side). docs/run.md argues the design.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { formatRecord } from "../lib/server/connection_record.ts";
import { defaultNetwork } from "../lib/runtime/detect.ts";
import { startServer } from "../lib/server/server.ts";
import { SocksError } from "../lib/wire/socks_error.ts";
import { namespaceAvailable, selfCommand, unshareFlags } from "./isolation.ts";
import { type OptionTable, parseOptions } from "./flags.ts";
import type { FlagValue } from "./setting_kinds.ts";
import type { CliOutput } from "./output.ts";
import { serveOptionTable, serveSettings } from "./serve_config.ts";
import { USAGE_EXIT_CODE, UsageError } from "./usage_error.ts";
import { runInside, signalNumber } from "./run_inside.ts";

/** Set in the environment of `tabi run` re-run inside the namespaces. */
export const RUN_INSIDE_ENV = "TABI_RUN_INSIDE";

/** The help text of `tabi run`. */
export const RUN_HELP: string = `Usage: tabi run [--proxy URL]... [options] -- COMMAND [ARG...]

Runs COMMAND so that it cannot reach the network except through tabi, and every name it looks up reaches the proxy
as a name. It needs no proxy setting: it runs in private network, mount and PID namespaces (unshare, as root or
through user namespaces) with loopback only; tabi answers its DNS lookups with mapped addresses and captures every
TCP connection it makes (nftables TPROXY), to any address and port, IPv4 and IPv6. UDP other than DNS reaches
nothing. Without --proxy, tabi is the exit itself; with it (repeatable: a chain), the chain is. Where the namespaces
are not available, it refuses: it never runs the program unprotected. Exits with the program's exit code.

Options:
  --proxy URL      the upstream proxy (socks5h://, socks4a://, http://; repeatable: a chain)
  the serve options that apply to the exit: --rules ... in --config, --log text|json, --quiet, --safe-socks,
  --connect-timeout, --idle-timeout (see tabi serve --help); the log goes to stderr
  -h, --help       this text

Needs unshare and mount (util-linux), ip (iproute2), nft (nftables) and socat. See docs/run.md.
`;

const NOT_FOR_RUN = ["listen", "workers", "metrics", "dns", "proxy-protocol"];

/** Runs `tabi run`; resolves with the program's exit code (or 2 for a usage error, 1 when it could not start). */
export async function runProgramCli(args: string[], output: CliOutput): Promise<number> {
  const split = args.indexOf("--");
  const own = split === -1 ? args : args.slice(0, split);
  const command = split === -1 ? [] : args.slice(split + 1);
  if (process.env[RUN_INSIDE_ENV] === "1") return await runInside(own, command, output);
  const table: OptionTable = { ...serveOptionTable(), proxy: { type: "string", multiple: true } };
  const { values, positionals } = parseOptions(own, table) as {
    values: Record<string, FlagValue | undefined>;
    positionals: string[];
  };
  if (values.help) {
    output.out(RUN_HELP);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`run: put the command after --: tabi run -- ${positionals.join(" ")}`);
  }
  if (command.length === 0) throw new UsageError("run: give the command after -- (see tabi run --help)");
  for (const flag of NOT_FOR_RUN) {
    const value = values[flag];
    if (value !== undefined && !(Array.isArray(value) && value.length === 0)) {
      throw new UsageError(`run: --${flag} is for tabi serve; tabi run makes its own listeners`);
    }
  }
  const proxies = (values.proxy ?? []) as string[];
  const settings = await serveSettings(values);
  for (const tool of ["socat", "nft", "ip"]) {
    if (!await found(tool)) {
      output.err(`tabi run: ${tool} is not installed; refusing to run ${command[0]} without isolation\n`);
      return USAGE_EXIT_CODE;
    }
  }
  if (!await namespaceAvailable()) {
    output.err(
      `tabi run: private network namespaces (unshare --net, as root or through user namespaces) are not available ` +
        `here; refusing to run ${command[0]} without isolation\n`,
    );
    return USAGE_EXIT_CODE;
  }
  const network = await defaultNetwork();
  let server;
  try {
    server = await startServer({
      ...settings.options,
      network,
      listen: [{ hostname: "127.0.0.1", port: 0 }],
      upstream: proxies.length > 0 ? proxies : settings.options.upstream,
      onConnectionEnd: settings.quiet ? undefined : (record) => output.err(`${formatRecord(record, settings.log)}\n`),
    });
  } catch (error) {
    if (error instanceof SocksError) {
      output.err(`tabi run: ${error.message}\n`);
      return USAGE_EXIT_CODE;
    }
    throw error;
  }
  const dir = mkdtempSync(join(tmpdir(), "tabi-run-"));
  const exit = join(dir, "exit.sock");
  // The Unix socket the namespace's side reaches the exit by: in a directory only this user can enter.
  const bridge = spawn("socat", [`UNIX-LISTEN:${exit},fork,mode=600`, `TCP:127.0.0.1:${server.addresses[0].port}`], {
    stdio: "ignore",
  });
  try {
    for (let i = 0; i < 250 && !existsSync(exit); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    if (!existsSync(exit)) {
      output.err("tabi run: socat did not start\n");
      return 1;
    }
    return await runNamespaced(dir, command, output);
  } finally {
    bridge.kill("SIGTERM");
    await server.close(0);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The program's side: this CLI again inside the namespaces, with the terminal passed through. */
function runNamespaced(dir: string, command: string[], output: CliOutput): Promise<number> {
  const [self, prefix] = selfCommand();
  return new Promise((resolve) => {
    const child = spawn(
      "unshare",
      // When unshare itself is ended (the terminal's SIGINT reaches it too), the inside gets SIGTERM, not SIGKILL,
      // and passes it on to the program.
      [
        ...unshareFlags().map((flag) => flag === "--kill-child" ? "--kill-child=SIGTERM" : flag),
        "--",
        self,
        ...prefix,
        "run",
        "--inside",
        dir,
        "--",
        ...command,
      ],
      {
        stdio: "inherit",
        // Deno would look for its own updates from inside: through the exit, which would log it.
        env: { ...process.env, [RUN_INSIDE_ENV]: "1", DENO_NO_UPDATE_CHECK: "1" },
      },
    );
    // SIGINT from the terminal reaches the program itself (one process group); these come from elsewhere. They go
    // to the inside (unshare's child), which passes them to the program: unshare would not pass them on.
    const forward = (signal: NodeJS.Signals) => () => {
      const inside = child.pid === undefined ? [] : childrenOf(child.pid);
      if (inside.length === 0 && child.pid !== undefined) inside.push(child.pid);
      for (const pid of inside) {
        try {
          process.kill(pid, signal);
        } catch {
          // Gone already.
        }
      }
    };
    const handlers = (["SIGTERM", "SIGHUP"] as const).map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    process.on("SIGINT", ignore);
    child.on("error", (error) => {
      output.err(`tabi run: cannot run unshare: ${error.message}\n`);
      resolve(USAGE_EXIT_CODE);
    });
    child.on("close", (code, signal) => {
      for (const [name, handler] of handlers) process.off(name, handler);
      process.off("SIGINT", ignore);
      resolve(code ?? 128 + signalNumber(signal));
    });
  });
}

function ignore(): void {}

/** A process's children, from /proc (Linux's CONFIG_PROC_CHILDREN); none when it cannot be read. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter((p) => p !== "").map(
      Number,
    );
  } catch {
    return [];
  }
}

function found(tool: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool} || test -x /sbin/${tool}`], {
      stdio: "ignore",
    });
    child.on("error", () => resolve(false));
    child.on("close", (code) => resolve(code === 0));
  });
}
