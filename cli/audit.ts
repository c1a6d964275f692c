/**
 * `tabi audit`: does a program leak DNS through its SOCKS proxy? Runs it against a recording proxy that forwards
 * nothing, in a private network and mount namespace whose DNS is the audit's, and reports what it saw.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { startAudit } from "../lib/audit/audit.ts";
import { reportJson, reportText } from "../lib/audit/report.ts";
import { AuditVerdicts } from "../lib/audit/verdict.ts";
import { defaultNetwork } from "../lib/runtime/detect.ts";
import { type BrowserName, browserRecipe, writeRecipeFiles } from "./audit_browser.ts";
import { INSIDE_ENV, namespaceAvailable, prepareNamespace, selfCommand, unshareFlags } from "./isolation.ts";
import { runProgram } from "./audit_process.ts";
import { loudEnvironment, quietEnvironment } from "./quiet_runtime.ts";
import { parseOptions } from "./flags.ts";
import type { CliOutput } from "./output.ts";
import { USAGE_EXIT_CODE, UsageError } from "./usage_error.ts";

/** The help text of `tabi audit`. */
export const AUDIT_HELP: string = `Usage: tabi audit [options] -- COMMAND [ARG...]
       tabi audit [options] --browser chromium|firefox [--socks-version 4|5] [--remote-dns on|off]

Runs COMMAND against a private recording SOCKS proxy that forwards nothing, and tells whether it leaks DNS: whether
the name it was given reached the proxy, or the program looked it up itself. In COMMAND's arguments, {socks} becomes
the proxy (127.0.0.1:PORT) and {url} the audit URL, whose host name only the audit answers.

The program runs in private network, mount and PID namespaces (unshare, as root or through user namespaces): only
loopback exists there, so nothing it does leaves the machine, and its DNS lookups reach the audit's own responder.
It gets empty /tmp, /var/tmp, /run and /dev/shm of its own, so the host's UNIX sockets there (nscd, D-Bus, X11)
are out of its reach; the rest of the file system is the host's.

Exit codes: 0 no-leak, 1 dns-leak, 3 no-request (it never used the proxy), 2 usage errors.

Options:
  --json                    print one JSON object instead of text
  --timeout S               stop the program and everything it started after S seconds (default 30)
  --browser NAME            audit the installed chromium or firefox (headless, a fresh profile)
  --socks-version 4|5       the SOCKS version the browser is configured with (default 5)
  --remote-dns on|off       Firefox's "proxy DNS when using SOCKS" (default: Firefox's own default)
  -h, --help                this text

Examples:
  tabi audit -- curl --socks5-hostname {socks} {url}
  tabi audit --browser chromium --socks-version 4
`;

/** The audit's settings, from its arguments. */
interface AuditArgs {
  readonly json: boolean;
  readonly timeoutMs: number;
  readonly command: readonly string[];
  readonly browser: BrowserName | undefined;
  readonly socksVersion: 4 | 5;
  readonly remoteDns: "on" | "off" | undefined;
}

function parseAuditArgs(args: string[]): AuditArgs | "help" {
  const split = args.indexOf("--");
  const own = split === -1 ? args : args.slice(0, split);
  const command = split === -1 ? [] : args.slice(split + 1);
  const { values, positionals } = parseOptions(own, {
    json: { type: "boolean" },
    timeout: { type: "string" },
    browser: { type: "string" },
    "socks-version": { type: "string" },
    "remote-dns": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return "help";
  if (positionals.length > 0) {
    throw new UsageError(`audit: put the command after --: tabi audit -- ${positionals.join(" ")}`);
  }
  const timeoutText = (values.timeout as string | undefined) ?? "30";
  const timeout = Number(timeoutText);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(timeoutText) || !(timeout > 0) || timeout > 86_400) {
    throw new UsageError(`audit --timeout: "${timeoutText}" is not a number of seconds from 0 to 86400`);
  }
  const browser = values.browser as string | undefined;
  if (browser !== undefined && browser !== "chromium" && browser !== "firefox") {
    throw new UsageError(`audit --browser: "${browser}" is neither chromium nor firefox`);
  }
  if ((browser === undefined) === (command.length === 0)) {
    throw new UsageError("audit: give either a command after -- or --browser (see tabi audit --help)");
  }
  const version = (values["socks-version"] as string | undefined) ?? "5";
  if (version !== "4" && version !== "5") {
    throw new UsageError(`audit --socks-version: "${version}" is neither 4 nor 5`);
  }
  const remoteDns = values["remote-dns"] as string | undefined;
  if (remoteDns !== undefined && remoteDns !== "on" && remoteDns !== "off") {
    throw new UsageError(`audit --remote-dns: "${remoteDns}" is neither on nor off`);
  }
  if (browser === "chromium" && remoteDns !== undefined) {
    throw new UsageError("audit --remote-dns: Chromium has no such setting (SOCKS5 always sends names, SOCKS4 cannot)");
  }
  if (browser === undefined && (values["socks-version"] !== undefined || remoteDns !== undefined)) {
    throw new UsageError("audit: --socks-version and --remote-dns go with --browser");
  }
  return {
    json: values.json === true,
    timeoutMs: Math.round(timeout * 1000),
    command,
    browser,
    socksVersion: version === "4" ? 4 : 5,
    remoteDns,
  };
}

/** Runs `tabi audit`; resolves with the verdict's exit code. */
export async function auditCli(args: string[], output: CliOutput): Promise<number> {
  const parsed = parseAuditArgs(args);
  if (parsed === "help") {
    output.out(AUDIT_HELP);
    return 0;
  }
  if (process.env[INSIDE_ENV] === "1") return await runAudit(parsed, output, true);
  if (!await namespaceAvailable()) {
    if (parsed.browser !== undefined) {
      // A browser makes background requests to the internet through any proxy and resolves names itself: it only
      // ever runs inside the loopback-only namespace (`unshare --net`), never on the machine's own network.
      output.err(
        "tabi audit: --browser needs a private network namespace (unshare --net, as root or through user " +
          "namespaces), which is not available here: a browser would send its background requests to the network\n",
      );
      return USAGE_EXIT_CODE;
    }
    return await runAudit(parsed, output, false);
  }
  return await runInNamespace(args, parsed.timeoutMs, output);
}

/** Runs this same audit again inside new namespaces, passing its output and exit code through. */
function runInNamespace(args: string[], timeoutMs: number, output: CliOutput): Promise<number> {
  const [command, prefix] = selfCommand();
  return new Promise((resolve) => {
    const child = spawn("unshare", [...unshareFlags(), "--", command, ...prefix, "audit", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      // The audit's own runtime must look nothing up in there (Deno's update check): the responder would blame the
      // program for it.
      env: { ...quietEnvironment(process.env), [INSIDE_ENV]: "1" },
    });
    child.stdout.on("data", (chunk: Uint8Array) => output.out(new TextDecoder().decode(chunk)));
    child.stderr.on("data", (chunk: Uint8Array) => output.err(new TextDecoder().decode(chunk)));
    // The audit inside stops the program at its timeout; this only guards against the audit itself hanging.
    const guard = setTimeout(() => child.kill("SIGKILL"), timeoutMs + 30_000);
    child.on("error", (error) => {
      clearTimeout(guard);
      output.err(`tabi audit: cannot run unshare: ${error.message}\n`);
      resolve(USAGE_EXIT_CODE);
    });
    child.on("close", (code) => {
      clearTimeout(guard);
      resolve(code ?? 1);
    });
  });
}

/** The audit itself: listener and (when `observed`) DNS responder, the program, the report. */
async function runAudit(args: AuditArgs, output: CliOutput, observed: boolean): Promise<number> {
  if (observed) {
    // First: it makes /tmp private, so the audit's own files go into the private one.
    try {
      await prepareNamespace();
    } catch (error) {
      output.err(`tabi audit: cannot prepare the audit's namespace: ${(error as Error).message}\n`);
      return USAGE_EXIT_CODE;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "tabi-audit-"));
  try {
    const audit = await startAudit({
      network: await defaultNetwork(),
      dns: observed ? { hostname: "127.0.0.1", port: 53 } : undefined,
    });
    let command = args.command.map(audit.substitute);
    let env: Record<string, string> = {};
    if (args.browser !== undefined) {
      let recipe;
      try {
        recipe = browserRecipe(args.browser, args.socksVersion, args.remoteDns, audit.proxy, audit.site.url, dir);
      } catch (error) {
        await audit.finish({ command: [args.browser], exitCode: null, signal: null, timedOut: false }, 0);
        throw error;
      }
      writeRecipeFiles(recipe);
      command = recipe.command;
      env = recipe.env;
    }
    // The program gets the user's environment back: without the audit's own markers and quieting variables.
    const { [INSIDE_ENV]: _inside, ...base } = loudEnvironment(process.env);
    const program = await runProgram(command, args.timeoutMs, env, base);
    const { outputTail: _, ...end } = program;
    const report = await audit.finish(end);
    if (end.startError !== undefined) {
      output.err(`tabi audit: cannot run ${command[0]}: ${end.startError}\n`);
      return USAGE_EXIT_CODE;
    }
    output.out(args.json ? `${reportJson(report)}\n` : reportText(report));
    return AuditVerdicts[report.verdict];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
