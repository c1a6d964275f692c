/**
 * `tabi serve`: run the proxy until SIGINT or SIGTERM, then let open tunnels finish for the grace period.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import process from "node:process";
import { formatRecord } from "../lib/server/connection_record.ts";
import { defaultNetwork } from "../lib/runtime/detect.ts";
import { type SocksServer, startServer } from "../lib/server/server.ts";
import { formatEndpoint } from "../lib/endpoint.ts";
import { SocksError } from "../lib/wire/socks_error.ts";
import { type CliOutput, parseOptions } from "./run.ts";
import { LIMIT_FLAGS, type ServeFlags, serveSettings } from "./serve_config.ts";
import { USAGE_EXIT_CODE } from "./usage_error.ts";
import { GSSAPI_OPTIONS, type GssApiFlags, SERVE_GSSAPI_HELP, serveGssApiAuthenticators } from "./gssapi_flags.ts";

/** The help text of `tabi serve`. */
export const SERVE_HELP: string = `Usage: tabi serve [options]

Runs a SOCKS proxy speaking SOCKS4, SOCKS4a and SOCKS5 on every listen address.

Options:
  --listen ADDR:PORT        listen here (repeatable; [IPv6]:PORT for IPv6). Default 127.0.0.1:1080
  --user NAME:PASSWORD      a user (repeatable). With users, SOCKS5 requires username/password (RFC 1929)
                            and SOCKS4, which has no password, is refused
  --allow-socks4-userid     with users, let SOCKS4 in when its USERID names a user (no password is checked)
  --users FILE              users from a file, one NAME:PASSWORD a line
  --config FILE             a JSON file holding any of the above, and access rules
  --allow-open              allow a non-loopback listen address without authentication
  --resolve-extension       answer Tor's RESOLVE (0xF0) and RESOLVE_PTR (0xF1)
  --handshake-timeout S     time for greeting, authentication and request (default 30)
  --connect-timeout S       time for CONNECT's connection and BIND's incoming one (default 120)
  --idle-timeout S          close a tunnel idle this long (default 0: never)
  --udp-timeout S           end a UDP association idle this long (default 120)
${SERVE_GSSAPI_HELP}  --ident                   check SOCKS4 USERIDs with the client host's identd (RFC 1413, port 113):
                            92 when it cannot be reached, 93 when it reports another user
  --udp-reassembly          reassemble fragmented UDP datagrams (RFC 1928 section 7) instead of dropping them
  --external-address IP     address BIND listens on and UDP ASSOCIATE binds (default: the one the client reached)
  --grace S                 on SIGINT/SIGTERM, let open tunnels finish this long (default 10)
  --max-clients N           connections at once (default 10000); over a limit a client is closed at once
  --max-clients-per-address N   connections at once from one address (default 1000)
  --max-handshakes N        connections still in their handshake (default 2000)
  --max-udp N               UDP associations at once (default 1000)
  --max-udp-per-client N    UDP associations at once from one address (default 16)
  --max-udp-in-flight N     datagrams of one association waiting to be sent; more are dropped (default 64)
  --log text|json           log format: one line per connection, on stderr (default text)
  --quiet                   no connection log
  -h, --help                this text
`;

/** Runs `tabi serve` with its arguments; resolves with the exit code once the server has stopped. */
export async function serve(args: string[], output: CliOutput): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    listen: { type: "string", multiple: true },
    user: { type: "string", multiple: true },
    users: { type: "string" },
    config: { type: "string" },
    "allow-open": { type: "boolean" },
    "allow-socks4-userid": { type: "boolean" },
    "resolve-extension": { type: "boolean" },
    "connect-timeout": { type: "string" },
    "handshake-timeout": { type: "string" },
    "idle-timeout": { type: "string" },
    "udp-timeout": { type: "string" },
    "external-address": { type: "string" },
    "udp-reassembly": { type: "boolean" },
    ident: { type: "boolean" },
    ...GSSAPI_OPTIONS,
    grace: { type: "string" },
    log: { type: "string" },
    quiet: { type: "boolean" },
    ...Object.fromEntries(LIMIT_FLAGS.map(([flag]) => [flag, { type: "string" as const }])),
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    output.out(SERVE_HELP);
    return 0;
  }
  if (positionals.length > 0) {
    output.err(`tabi serve: unexpected argument "${positionals[0]}" (see tabi serve --help)\n`);
    return USAGE_EXIT_CODE;
  }
  const settings = await serveSettings(values as ServeFlags);
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
        const parts = LIMIT_FLAGS.flatMap(([flag, key]) => {
          const n = report.refused[key];
          return n ? [`${n} over --${flag} (${server!.limits[key]})`] : [];
        });
        output.err(`tabi: refused in the last ${report.intervalMs / 1000} s: ${parts.join(", ")}\n`);
      },
    });
  } catch (error) {
    if (error instanceof SocksError) {
      output.err(`tabi: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const users = settings.options.users?.size ?? 0;
  const gssapiAuth = values.gssapi
    ? `GSS-API (service ${values["gssapi-service"] ?? "rcmd"})${users > 0 ? ", " : ""}`
    : "";
  const auth = gssapiAuth +
    (users > 0
      ? `username/password, ${users} user${users === 1 ? "" : "s"}`
      : values.gssapi
      ? ""
      : "no authentication");
  output.err(`tabi: listening on ${server.addresses.map(formatEndpoint).join(", ")} (SOCKS4, 4a, 5; ${auth})\n`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        output.err(`tabi: ${signal} again, closing every connection now\n`);
        process.exit(1);
      }
      stopping = true;
      output.err(
        `tabi: ${signal}: no new connections; ${server.activeConnections} open, waiting up to ${
          settings.graceMs / 1000
        } s\n`,
      );
      server.close(settings.graceMs).then(resolve);
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  });
  output.err("tabi: stopped\n");
  return 0;
}
