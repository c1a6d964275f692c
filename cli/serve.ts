/**
 * `tabi serve`: run the proxy until SIGINT or SIGTERM, then let open tunnels finish for the grace period.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import process from "node:process";
import { formatRecord } from "../lib/server/connection_record.ts";
import { defaultNetwork, runtimeName } from "../lib/runtime/detect.ts";
import { type SocksServer, startServer } from "../lib/server/server.ts";
import { formatEndpoint } from "../lib/endpoint.ts";
import { VERSION } from "../lib/version.ts";
import { SocksError } from "../lib/wire/socks_error.ts";
import { parseOptions } from "./flags.ts";
import type { CliOutput } from "./output.ts";
import { SERVE_SETTINGS } from "./serve_settings.ts";
import { ALL_PROTOCOLS } from "../lib/server/config.ts";
import { formatProxy, parseProxyUrl } from "../lib/client/proxy_url.ts";

/** A proxy URL for the log: without its password. */
function redactUrl(url: string): string {
  return formatProxy(parseProxyUrl(url));
}
import { configKeys, serveOptionsHelp, serveOptionTable, serveSettings } from "./serve_config.ts";
import { USAGE_EXIT_CODE } from "./usage_error.ts";
import { type GssApiFlags, serveGssApiAuthenticators } from "./gssapi_flags.ts";

/** The help text of `tabi serve`, derived from the settings table. */
export const SERVE_HELP: string = `Usage: tabi serve [options]

Runs a proxy speaking SOCKS4, SOCKS4a, SOCKS5 and HTTP/1.1 (CONNECT and http:// URLs) on every listen
address; the first byte of a connection tells them apart (--protocols narrows them). Times are in seconds (fractions
allowed) up to 2147483 (about 24.8 days, the longest timer); a timeout of 0 means never. SIGINT or SIGTERM stops
it (a second one cuts open tunnels at once); SIGHUP is ignored (reload is not supported yet).

Options:
${serveOptionsHelp()}
Config file keys (JSON object; times in seconds; a flag wins over its key):
${wrap(configKeys().join(", "), 2, 116)}
`;

function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return [...lines, line].map((l) => `${" ".repeat(indent)}${l}`).join("\n");
}

/** Runs `tabi serve` with its arguments; resolves with the exit code once the server has stopped. */
export async function serve(args: string[], output: CliOutput): Promise<number> {
  const { values, positionals } = parseOptions(args, serveOptionTable());
  if (values.help) {
    output.out(SERVE_HELP);
    return 0;
  }
  if (positionals.length > 0) {
    output.err(`tabi serve: unexpected argument "${positionals[0]}" (see tabi serve --help)\n`);
    return USAGE_EXIT_CODE;
  }
  const settings = await serveSettings(values);
  if (settings.usersFile) {
    // A users file holds passwords: warn when others may read it, as ssh does for keys.
    const mode = await stat(settings.usersFile).then((s) => s.mode, () => 0);
    if (mode & 0o077) output.err(`tabi: warning: ${settings.usersFile} is readable by others (chmod 600 it)\n`);
  }
  let server: SocksServer | undefined;
  try {
    const gssapi = await serveGssApiAuthenticators(values as GssApiFlags, settings.options.users);
    server = await startServer({
      ...settings.options,
      ...(gssapi ? { authenticators: gssapi } : {}),
      // The CLI is an edge: it picks the running runtime's Network and hands it to the core.
      network: await defaultNetwork(),
      onConnectionEnd: settings.quiet ? undefined : (record) => output.err(`${formatRecord(record, settings.log)}\n`),
      // Refusals are summed per interval, never logged per connection: a flood must not flood the log.
      onLimit: (report) => {
        const parts = SERVE_SETTINGS.flatMap(({ flag, limit }) => {
          const n = limit && report.refused[limit];
          return n ? [`${n} over --${flag} (${server!.limits[limit]})`] : [];
        });
        output.err(`tabi: refused in the last ${report.intervalMs / 1000} s: ${parts.join(", ")}\n`);
      },
      // Out of file descriptors: one line per interval while it lasts; the server keeps serving the others.
      onAcceptError: (error) => output.err(`tabi: ${error.message}\n`),
    });
  } catch (error) {
    if (error instanceof SocksError) {
      output.err(`tabi: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const users = settings.options.users?.size ?? 0;
  const { safeSocks, testSocks, acceptAnyCredentials } = settings.options;
  const auth = [
    ...(values.gssapi ? [`GSS-API (service ${values["gssapi-service"] ?? "rcmd"})`] : []),
    users > 0
      ? `username/password, ${users} user${users === 1 ? "" : "s"}`
      : acceptAnyCredentials
      ? "no authentication, any username/password taken as a label"
      : values.gssapi
      ? ""
      : "no authentication",
    ...(safeSocks ? ["safe-socks: requests by address refused"] : []),
    ...(testSocks ? ["test-socks"] : []),
  ].filter((part) => part !== "").join("; ");
  const addresses = server.addresses.map(formatEndpoint).join(", ");
  const who = `tabi ${VERSION} (${runtimeName()} ${runtimeVersion()})`;
  // Handlers first, then the line that tells a supervisor (or a test) the server is up and may be signalled.
  // Until reload exists, HUP (a closed terminal, or an operator's habit) must not end the proxy.
  onSignal("SIGHUP", () => output.err("tabi: SIGHUP: reload is not supported yet\n"));
  const cut = new Promise<boolean>((resolve) => {
    let signals = 0;
    const stop = (signal: string) => {
      signals++;
      if (signals === 1) {
        output.err(
          `tabi: ${signal}: no new connections; ${server.activeConnections} open, waiting up to ${
            settings.graceMs / 1000
          } s\n`,
        );
        server.close(settings.graceMs).then(() => resolve(signals > 1));
      } else if (signals === 2) {
        // Cut now, but let each cut tunnel's log line out first: the close resolves once all are written.
        output.err(`tabi: ${signal} again, closing every connection now\n`);
        void server.close(0);
      } else process.exit(1);
    };
    onSignal("SIGINT", () => stop("SIGINT"));
    onSignal("SIGTERM", () => stop("SIGTERM"));
  });
  const protocols = settings.options.protocols ?? ALL_PROTOCOLS;
  const spoken = [
    ...(protocols.includes("socks4") ? ["SOCKS4, 4a"] : []),
    ...(protocols.includes("socks5") ? [protocols.includes("socks4") ? "5" : "SOCKS5"] : []),
    ...(protocols.includes("http") ? ["HTTP"] : []),
  ].join(", ");
  const via = settings.options.upstream?.length
    ? `; upstream ${
      settings.options.upstream.map((u) => typeof u === "string" ? redactUrl(u) : formatProxy(u)).join(" -> ")
    }`
    : "";
  output.err(`${who}: listening on ${addresses} (${spoken}; ${auth}${via})\n`);
  const wasCut = await cut;
  output.err(`${who}: stopped${wasCut ? " (connections cut)" : ""}; was listening on ${addresses}\n`);
  return wasCut ? 1 : 0;
}

/** The running runtime's version. */
function runtimeVersion(): string {
  const versions: Readonly<Record<string, string | undefined>> = process.versions;
  return versions[runtimeName()] ?? "?";
}

/** Listens for a signal where the platform has it (Windows has no SIGHUP). */
function onSignal(signal: "SIGHUP" | "SIGINT" | "SIGTERM", handler: () => void): void {
  try {
    process.on(signal, handler);
  } catch {
    // Not on this platform: nothing to handle.
  }
}
